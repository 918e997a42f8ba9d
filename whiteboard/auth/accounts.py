"""Signing on and off, kiosk tokens and workstations: the rules, on a database session.

Callers own the transaction (a unit of work or a read session they commit); nothing here
talks to Flask, so the CLI, the web and the benchmark all use the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from whiteboard.auth.credentials import check_secret, hash_secret, new_token, token_digest
from whiteboard.auth.models import KioskToken, SignOn, StaffUser, Workstation
from whiteboard.auth.principal import Principal
from whiteboard.auth.roles import KIOSK, STAFF_ROLES


class AccountError(Exception):
    """A sign-on or account change that cannot happen; the message is safe to show."""


class SignOnRefused(AccountError):
    pass


@dataclass(frozen=True)
class Policy:
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    idle: timedelta = timedelta(minutes=15)
    ticket_life: timedelta = timedelta(seconds=60)


GENERIC_REFUSAL = "card number and PIN, or username and password, not recognised"


# Staff accounts -------------------------------------------------------------------------


def add_user(
    session: Session,
    username: str,
    role: str,
    *,
    display_name: str = "",
    card_number: str | None = None,
    pin: str | None = None,
    password: str | None = None,
    practice: str | None = None,
) -> StaffUser:
    if role not in STAFF_ROLES:
        raise AccountError(f"unknown role {role!r}; roles: {', '.join(STAFF_ROLES)}")
    if role == "gp" and not practice:
        raise AccountError("a GP needs --practice (the practice code whose patients they see)")
    if pin is not None and not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise AccountError("a PIN is 4 to 12 digits")
    if password is not None and len(password) < 12:
        raise AccountError("a password needs at least 12 characters")
    if session.scalars(select(StaffUser).where(StaffUser.username == username)).first():
        raise AccountError(f"user {username!r} already exists")
    if card_number and _user_by_card(session, card_number):
        raise AccountError(f"card {card_number} is already issued")
    user = StaffUser(
        username=username,
        role=role,
        display_name=display_name or username,
        card_number=card_number or None,
        pin_hash=hash_secret(pin) if pin else None,
        password_hash=hash_secret(password) if password else None,
        gp_practice_code=practice,
        active=True,
        failed_attempts=0,
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> StaffUser:
    user = session.scalars(select(StaffUser).where(StaffUser.username == username)).first()
    if user is None:
        raise AccountError(f"no user {username!r}")
    return user


def set_card(session: Session, username: str, card_number: str | None, pin: str | None) -> None:
    user = get_user(session, username)
    if card_number:
        other = _user_by_card(session, card_number)
        if other is not None and other.id != user.id:
            raise AccountError(f"card {card_number} is already issued to {other.username}")
    if pin is not None and not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise AccountError("a PIN is 4 to 12 digits")
    user.card_number = card_number or None
    if pin is not None:
        user.pin_hash = hash_secret(pin)


def set_active(session: Session, username: str, active: bool, now: datetime) -> list[int]:
    """Disable or enable an account; disabling ends its sessions (ids returned to blank)."""
    user = get_user(session, username)
    user.active = active
    user.failed_attempts = 0
    user.locked_until = None
    return [] if active else end_signons(session, now, "disabled", user_id=user.id)


def _user_by_card(session: Session, card_number: str) -> StaffUser | None:
    return session.scalars(select(StaffUser).where(StaffUser.card_number == card_number)).first()


# Signing on -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """The result of checking a secret, before anything is written."""

    user_id: int | None
    ok: bool


def check_card(session: Session, card: str, pin: str) -> Attempt:
    """Read-only and slow (Argon2): done outside any write transaction or write lock."""
    user = _user_by_card(session, card.strip()) if card.strip() else None
    return _check(user, user.pin_hash if user else None, pin)


def check_password(session: Session, username: str, password: str) -> Attempt:
    user = session.scalars(select(StaffUser).where(StaffUser.username == username.strip())).first()
    return _check(user, user.password_hash if user else None, password)


def _check(user: StaffUser | None, stored: str | None, secret: str) -> Attempt:
    ok = check_secret(stored, secret)  # always hashes: unknown accounts cost the same
    return Attempt(user.id if user else None, ok and user is not None)


def finish_sign_on(
    session: Session, attempt: Attempt, method: str, workstation: str, now: datetime, policy: Policy
) -> tuple[SignOn, str]:
    """The short write after ``check_*``: lockout bookkeeping, or a new sign-on.

    Raises ``SignOnRefused``; the caller commits either way so failures count.
    """
    user = session.get(StaffUser, attempt.user_id) if attempt.user_id is not None else None
    if user is None or not user.active:
        raise SignOnRefused(GENERIC_REFUSAL)
    if user.locked_until is not None and user.locked_until > now:
        raise SignOnRefused("too many failed attempts: this account is locked for a while")
    if not attempt.ok:
        user.failed_attempts = (user.failed_attempts or 0) + 1
        if user.failed_attempts >= policy.max_failures:
            user.locked_until = now + policy.lockout
            user.failed_attempts = 0
        raise SignOnRefused(GENERIC_REFUSAL)
    user.failed_attempts = 0
    user.locked_until = None
    return open_signon(session, user, method, workstation, now)


def open_signon(
    session: Session, user: StaffUser, method: str, workstation: str, now: datetime
) -> tuple[SignOn, str]:
    token = new_token()
    signon = SignOn(
        token_hash=token_digest(token),
        user_id=user.id,
        user=user,
        workstation=workstation[:64],
        method=method,
        started_at=now,
        last_seen_at=now,
    )
    session.add(signon)
    session.flush()
    return signon, token


def issue_ticket(session: Session, signon: SignOn, now: datetime, policy: Policy) -> str:
    """A one-time, short-lived link for the reader agent to open in the workstation's browser."""
    ticket = new_token()
    signon.ticket_hash = token_digest(ticket)
    signon.ticket_expires_at = now + policy.ticket_life
    return ticket


def redeem_ticket(session: Session, ticket: str, now: datetime) -> str | None:
    """Swap a ticket for a fresh session token (the ticket cannot be used twice)."""
    signon = session.scalars(
        select(SignOn).where(SignOn.ticket_hash == token_digest(ticket))
    ).first()
    if signon is None or signon.ended_at is not None:
        return None
    expires = signon.ticket_expires_at
    signon.ticket_hash = None
    signon.ticket_expires_at = None
    if expires is None or expires < now:
        return None
    token = new_token()
    signon.token_hash = token_digest(token)
    signon.last_seen_at = now
    return token


@dataclass(frozen=True)
class SessionCheck:
    principal: Principal | None
    signon_id: int | None = None
    went_idle: bool = False  # the caller ends it (a write) and blanks its screens
    touch: bool = False  # the caller records the activity (a write, at most every 30 s)


def check_signon(session: Session, token: str, now: datetime, policy: Policy) -> SessionCheck:
    """Read-only check of a session token, done on every request."""
    signon = session.scalars(select(SignOn).where(SignOn.token_hash == token_digest(token))).first()
    if signon is None or signon.ended_at is not None or not signon.user.active:
        return SessionCheck(None)
    if now - signon.last_seen_at > policy.idle:
        return SessionCheck(None, signon.id, went_idle=True)
    user = signon.user
    principal = Principal(
        kind="staff",
        role=user.role,
        name=user.username,
        display_name=user.display_name,
        user_id=user.id,
        signon_id=signon.id,
        practice_code=user.gp_practice_code if user.role == "gp" else None,
        workstation=signon.workstation,
    )
    return SessionCheck(
        principal, signon.id, touch=now - signon.last_seen_at > timedelta(seconds=30)
    )


def touch_signon(session: Session, signon_id: int, now: datetime) -> None:
    session.execute(
        update(SignOn)
        .where(SignOn.id == signon_id, SignOn.ended_at.is_(None))
        .values(last_seen_at=now)
    )


def end_signons(
    session: Session,
    now: datetime,
    reason: str,
    *,
    user_id: int | None = None,
    workstation: str | None = None,
    signon_id: int | None = None,
) -> list[int]:
    """End the matching open sessions; returns their ids so their screens can be blanked."""
    query = select(SignOn.id).where(SignOn.ended_at.is_(None))
    if user_id is not None:
        query = query.where(SignOn.user_id == user_id)
    if workstation is not None:
        query = query.where(SignOn.workstation == workstation)
    if signon_id is not None:
        query = query.where(SignOn.id == signon_id)
    ids = list(session.scalars(query))
    if ids:
        session.execute(
            update(SignOn).where(SignOn.id.in_(ids)).values(ended_at=now, end_reason=reason)
        )
    return ids


def user_for_card(session: Session, card: str) -> StaffUser | None:
    return _user_by_card(session, card.strip()) if card.strip() else None


# Kiosks ---------------------------------------------------------------------------------


def add_kiosk(session: Session, ward_code: str, label: str = "") -> tuple[KioskToken, str]:
    from whiteboard.models import Ward

    if session.scalars(select(Ward).where(Ward.code == ward_code)).first() is None:
        raise AccountError(f"no ward {ward_code!r}")
    token = new_token()
    kiosk = KioskToken(
        ward_code=ward_code, label=label or f"{ward_code} board", token_hash=token_digest(token)
    )
    session.add(kiosk)
    session.flush()
    return kiosk, token


def revoke_kiosk(session: Session, kiosk_id: int, now: datetime) -> None:
    kiosk = session.get(KioskToken, kiosk_id)
    if kiosk is None:
        raise AccountError(f"no kiosk {kiosk_id}")
    kiosk.revoked_at = now


def principal_for_kiosk(session: Session, token: str) -> Principal | None:
    kiosk = session.scalars(
        select(KioskToken).where(KioskToken.token_hash == token_digest(token))
    ).first()
    if kiosk is None or kiosk.revoked_at is not None:
        return None
    return Principal(
        kind="kiosk",
        role=KIOSK,
        name=f"kiosk:{kiosk.id}",
        display_name=kiosk.label,
        ward_code=kiosk.ward_code,
        workstation=f"kiosk:{kiosk.id}",
    )


# Workstations ---------------------------------------------------------------------------


def add_workstation(session: Session, name: str) -> tuple[Workstation, str]:
    if session.scalars(select(Workstation).where(Workstation.name == name)).first():
        raise AccountError(f"workstation {name!r} already exists")
    secret = new_token()
    ws = Workstation(name=name, secret_hash=token_digest(secret))
    session.add(ws)
    session.flush()
    return ws, secret


def check_workstation(session: Session, name: str, secret: str) -> Workstation | None:
    from whiteboard.auth.credentials import same

    ws = session.scalars(select(Workstation).where(Workstation.name == name)).first()
    if ws is None or ws.revoked_at is not None:
        return None
    return ws if same(ws.secret_hash, token_digest(secret)) else None
