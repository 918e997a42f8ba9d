"""The unit of work: one transaction per command, events collected and released after commit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session, sessionmaker

from config.id_cache import IdCache

log = logging.getLogger(__name__)

BeforeCommitHook = Callable[[Session, list[Any]], None]
WAL_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default
# Journal commits checkpoint only past this (~40 MB of log): a safety net for when the applier,
# which normally checkpoints every 0.1 s, is held back by sustained traffic.
JOURNAL_AUTOCHECKPOINT_PAGES = 10_000


class UnitOfWork:
    """A write transaction.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE`` and writers in this process take
    turns through one lock, so two writers never deadlock upgrading read locks; PostgreSQL
    needs neither.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        write_lock: AbstractContextManager[Any] | None = None,
        before_commit: tuple[BeforeCommitHook, ...] = (),
        ids: IdCache | None = None,
    ) -> None:
        self._session_factory = session_factory
        # Shared by every unit of work of one factory: reference ids by code (a hint only).
        self.ids = ids if ids is not None else IdCache()
        self._lock = write_lock or nullcontext()
        self._before_commit = before_commit
        self._events: list[Any] = []
        self._committed_events: list[Any] = []
        # Reference rows (wards, beds, clinicians) this transaction has loaded, held strongly:
        # the session's identity map holds clean objects only weakly, so without this a ward
        # read by one message of an HL7 batch is read again by the next (and by every lazy
        # load of ``stay.ward``). Cleared with each transaction, so never stale across them.
        self.pinned: dict[Hashable, Any] = {}
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self._lock.__enter__()
        try:
            self.session = self._session_factory()
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        self._events = []
        self.pinned = {}
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.pinned = {}
            self.session.rollback()
            self.session.close()
        finally:
            self._lock.__exit__(exc_type, exc, tb)

    def add_event(self, event: Any) -> None:
        self._events.append(event)

    def event_mark(self) -> int:
        """Where the event list stands; ``discard_events_since`` rolls it back to here."""
        return len(self._events)

    def discard_events_since(self, mark: int) -> None:
        """Forget events of work rolled back to a savepoint: they never happened."""
        del self._events[mark:]

    def commit(self) -> None:
        for hook in self._before_commit:
            hook(self.session, self._events)
        self.session.commit()
        self._committed_events.extend(self._events)
        self._events = []

    def collect_new_events(self) -> Iterator[Any]:
        while self._committed_events:
            yield self._committed_events.pop(0)


class UnitOfWorkFactory:
    """Makes units of work bound to one engine; bootstrap builds exactly one."""

    def __init__(self, engine: Engine, before_commit: tuple[BeforeCommitHook, ...] = ()) -> None:
        is_sqlite = engine.dialect.name == "sqlite"
        self.engine = engine
        bind = engine.execution_options(sqlite_begin="IMMEDIATE") if is_sqlite else engine
        self._bind = bind
        self._sessions = sessionmaker(bind=bind, expire_on_commit=False)
        self._lock: AbstractContextManager[Any] | None = threading.RLock() if is_sqlite else None
        self._before_commit = before_commit
        self.single_writer = is_sqlite  # one write transaction at a time in this database
        self.ids = IdCache()

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self._sessions, self._lock, self._before_commit, self.ids)

    @contextmanager
    def write_connection(self, *, durable: bool = True) -> Iterator[Connection]:
        """A bare write transaction (Core connection, committed on success), for writes that
        change no record and raise no events: the HL7 journal's group commit.

        Same writer lock and ``BEGIN IMMEDIATE`` as a unit of work, without the ORM session
        and the before-commit hooks (which act on record changes and events only). Inside the
        ACK path, where the session's set-up and hooks cost more than the insert itself.
        ``durable=False`` (SQLite): commit without an fsync (``synchronous=NORMAL`` for this
        transaction), for writes that recovery can redo, such as clearing the HL7 spool.
        """
        with self._lock or nullcontext(), self._bind.connect() as conn:
            # On SQLite the commit that grows the write-ahead log past its threshold copies it
            # back into the database (a checkpoint, with an fsync) before returning; not here,
            # where a sender waits for its ACK: ``checkpoint`` does it off that path, and this
            # commit only past a much longer log.
            raw = conn.connection.dbapi_connection if self.single_writer else None
            if raw is not None:
                raw.execute(f"PRAGMA wal_autocheckpoint={JOURNAL_AUTOCHECKPOINT_PAGES}")
                if not durable:
                    raw.execute("PRAGMA synchronous=NORMAL")
            try:
                with conn.begin():
                    yield conn
            finally:
                if raw is not None:  # the pooled connection goes back as it came
                    try:
                        if not durable:
                            raw.execute("PRAGMA synchronous=FULL")
                        raw.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
                    except Exception:  # a broken connection: the pool replaces it
                        log.warning("could not restore wal_autocheckpoint", exc_info=True)
                        conn.invalidate()

    def checkpoint(self) -> tuple[int, int, int] | None:
        """Copy SQLite's write-ahead log back into the database now, without the writer lock
        (a passive checkpoint runs alongside writers); ``(busy, log frames, checkpointed)``.
        None on other databases. Called by the HL7 applier after its batches, so the WAL
        stays short and the journal's commits rarely meet a checkpoint of their own."""
        if not self.single_writer:
            return None
        raw = self._bind.raw_connection()
        try:
            row = raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            raw.close()
        return (int(row[0]), int(row[1]), int(row[2])) if row else None

    def listen(self, name: str, fn: Callable[..., Any]) -> None:
        """Register a session event (e.g. ``after_flush``) on every unit of work's session."""
        event.listen(self._sessions, name, fn)
