"""Hashing and checking PINs, passwords and random tokens.

PINs and passwords use Argon2id with OWASP's first recommended setting (19 MiB, 2 passes,
1 lane): about 30 ms a check on our 2-core machine, which keeps card-to-ready sign-on well
under a second at 200 sign-ons a minute (argon2-cffi's heavier default, 64 MiB x 3 passes x
4 lanes, took 250-500 ms a check there and queued sign-ons at that rate). The parameters are
stored in each hash, so they can be raised later without invalidating existing PINs.
Tokens (kiosk, workstation, sign-on) are 256-bit random strings, so a plain SHA-256 of them
is enough to store and is fast to look up on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
# Checked against when an account does not exist, so a miss costs the same time as a hit.
_DUMMY_HASH = _hasher.hash("not-a-real-secret")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def check_secret(stored: str | None, secret: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, secret) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
