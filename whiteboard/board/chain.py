"""The last board pushed per ward and audience: what every publisher makes its patch against.

A push is a patch against the snapshot pushed before it (whiteboard/board/patch.py), and a
screen applies it only when it has that snapshot. One process can remember that in a dict.
A site split into processes (``run.py mllp``, several ``run.py web``, the scheduler) has
several publishers pushing to the same boards, so a dict per process made each one's patches
useless to a board last updated by another: it asked for the whole board again (4,007
resyncs in 14,958 pushes of the compressed hospital day).

``RedisChain`` keeps the chain in Redis instead, the Redis that already carries the pushes.
Per ward one hash holds the last snapshot of each audience and its digest, and a short lock
(redis-py's ``Lock``, which expires, so a process killed while holding it cannot wedge the
ward) serialises the pushes of that ward across processes: read the last, emit the patch,
store the new one, release. Each process also keeps the snapshots it last saw, so the usual
case (the same process pushes the ward again) reads two digests from Redis, not 50 KB of
JSON.

When Redis cannot be reached the chain raises ``ChainUnavailable`` and the publisher sends
whole snapshots, which every screen can show, until it is back.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

Snapshot = dict[str, Any]


class ChainUnavailable(Exception):
    """The shared chain could not be read or written (Redis down, or the ward's lock busy)."""


class WardBusy(ChainUnavailable):
    """Another publisher held the ward's lock too long: only this push goes without it."""


@dataclass(frozen=True)
class Last:
    """The last push of a ward: one snapshot per audience ("full", "kiosk")."""

    views: Mapping[str, Snapshot]

    def newer_than(self, snap: Snapshot) -> bool:
        """True if the last push shows a later version of the ward than ``snap``.

        A snapshot is built after every change up to its version was committed, so the later
        push already shows whatever ``snap`` was built for; sending ``snap`` would take the
        boards back. (Two builds of one version differ only in time-based alerts; the
        scheduler's re-push puts those right within a minute whichever went last.)
        """
        full = self.views.get("full")
        return full is not None and int(full.get("version", 0)) > int(snap.get("version", 0))


class PushChain(Protocol):
    """Where publishers keep the last push of each ward; ``hold`` serialises a ward's pushes."""

    def hold(self, ward: str) -> Any:
        """A context manager: no other publisher pushes ``ward`` while it is held."""
        ...

    def last(self, ward: str, audiences: tuple[str, ...]) -> Last:
        """The last snapshots pushed for ``ward`` (an audience never pushed is absent)."""
        ...

    def remember(self, ward: str, views: Mapping[str, Snapshot]) -> None:
        """Record ``views`` (sealed snapshots by audience) as the ward's last push."""
        ...


class LocalChain:
    """The chain of one process (``run.py serve``, tests): a dict; one push worker uses it."""

    shared = False

    def __init__(self) -> None:
        self._last: dict[str, dict[str, Snapshot]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, ward: str) -> Iterator[None]:
        with self._lock:
            yield

    def last(self, ward: str, audiences: tuple[str, ...]) -> Last:
        known = self._last.get(ward, {})
        return Last({a: known[a] for a in audiences if a in known})

    def remember(self, ward: str, views: Mapping[str, Snapshot]) -> None:
        self._last.setdefault(ward, {}).update(views)


class RedisChain:
    """The chain shared by every process of a site, in Redis (module docstring).

    ``lock_seconds`` is how long a ward's lock lives if its holder dies; ``wait_seconds`` how
    long a publisher waits for it before giving up and pushing a whole snapshot instead.
    Keys start with ``prefix`` (the site's Socket.IO channel) and expire a day after the
    ward's last push, so a ward taken out of the layout leaves nothing behind.
    """

    shared = True
    TTL_SECONDS = 86_400

    def __init__(
        self,
        client: Any,
        prefix: str,
        lock_seconds: float = 5.0,
        wait_seconds: float = 3.0,
    ) -> None:
        self._redis = client
        self._prefix = f"{prefix}:board-chain"
        self._lock_seconds = lock_seconds
        self._wait_seconds = wait_seconds
        # What this process last read or wrote per ward and audience, keyed by digest.
        self._seen: dict[tuple[str, str], Snapshot] = {}

    @classmethod
    def from_url(cls, url: str, prefix: str, **kwargs: Any) -> RedisChain:
        """Short socket timeouts: with Redis down a push must fall back within a second or
        two, not hang the push worker (every other ward waits behind it)."""
        import redis

        client = redis.Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=2, health_check_interval=30
        )
        return cls(client, prefix, **kwargs)

    def _key(self, ward: str) -> str:
        return f"{self._prefix}:{ward}"

    @contextmanager
    def hold(self, ward: str) -> Iterator[None]:
        import redis

        try:
            lock = self._redis.lock(
                f"{self._key(ward)}:lock",
                timeout=self._lock_seconds,
                blocking_timeout=self._wait_seconds,
                # redis-py polls a held lock every 0.1 s by default; a push waits behind
                # another process's push for a few milliseconds, so poll that often.
                sleep=0.005,
            )
            acquired = lock.acquire()
        except redis.RedisError as exc:
            raise ChainUnavailable(f"Redis: {type(exc).__name__}: {exc}") from exc
        if not acquired:
            raise WardBusy(f"ward {ward}'s push lock still held after {self._wait_seconds} s")
        try:
            yield
        finally:
            try:
                lock.release()
            except redis.exceptions.LockNotOwnedError:
                # Held past its lifetime (a very slow push): another publisher may have pushed
                # meanwhile; the version check in ``Last.newer_than`` keeps boards from going
                # back, and the next push heals any screen left behind.
                log.warning("board push for ward %s outlived its lock", ward)
            except redis.RedisError:
                log.warning("could not release the push lock of ward %s", ward, exc_info=True)

    def last(self, ward: str, audiences: tuple[str, ...]) -> Last:
        import redis

        key = self._key(ward)
        try:
            digests = self._redis.hmget(key, [f"{a}.digest" for a in audiences])
            views: dict[str, Snapshot] = {}
            fetch: list[str] = []
            for audience, raw in zip(audiences, digests, strict=True):
                if raw is None:
                    continue
                seen = self._seen.get((ward, audience))
                if seen is not None and seen.get("digest") == raw.decode():
                    views[audience] = seen
                else:
                    fetch.append(audience)
            if fetch:
                bodies = self._redis.hmget(key, [f"{a}.snapshot" for a in fetch])
                for audience, body in zip(fetch, bodies, strict=True):
                    if body is not None:
                        views[audience] = json.loads(body)
                        self._seen[(ward, audience)] = views[audience]
        except redis.RedisError as exc:
            raise ChainUnavailable(f"Redis: {type(exc).__name__}: {exc}") from exc
        return Last(views)

    def remember(self, ward: str, views: Mapping[str, Snapshot]) -> None:
        import redis

        fields: dict[str, str] = {}
        for audience, snap in views.items():
            fields[f"{audience}.digest"] = snap["digest"]
            fields[f"{audience}.snapshot"] = json.dumps(snap, separators=(",", ":"), default=str)
        key = self._key(ward)
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.hset(key, mapping=fields)
            pipe.expire(key, self.TTL_SECONDS)
            pipe.execute()
        except redis.RedisError as exc:
            # Not recorded: drop what this process believes, so it reads Redis next time.
            for audience in views:
                self._seen.pop((ward, audience), None)
            raise ChainUnavailable(f"Redis: {type(exc).__name__}: {exc}") from exc
        for audience, snap in views.items():
            self._seen[(ward, audience)] = snap
