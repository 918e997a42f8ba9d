"""Group commit for the journal: one transaction (one fsync) for every message that arrived
while the previous commit was running, and each caller released only after its commit.

A commit on SQLite with ``synchronous=FULL`` costs an fsync; paying it per message caps a
listener at a few hundred messages a second whatever else it does. Sixteen connections that
each wait for their ACK put up to sixteen messages in the queue during one fsync, and the
next commit writes them together. Nothing is acknowledged before the transaction holding it has
committed, so "ACK means durably stored" still holds message by message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from config.unit_of_work import UnitOfWorkFactory
from integration import journal
from integration.journal import InboundMessage
from integration.spool import Spool

log = logging.getLogger(__name__)

_TABLE = InboundMessage.__table__
_COLUMNS = (
    "sender",
    "control_id",
    "message_type",
    "trigger_event",
    "version",
    "peer",
    "received_at",
    "raw",
    "charset",
    "state",
    "attempts",
    "error_code",
    "error",
    "ack_code",
    "ack",
)


def _known(table: Any) -> Any:
    c = table.c
    return (
        select(c.id, c.control_id, c.state, c.ack, c.ack_code, c.received_at)
        .where(c.sender == bindparam("sender"))
        .where(c.control_id.in_(bindparam("control_ids", expanding=True)))
    )


def _insert(table: Any) -> Any:
    return insert(table).returning(table.c.id, sort_by_parameter_order=True)


# Built once: building the expressions was a good part of a small batch's CPU.
_KNOWN = _known(_TABLE)
_LAST_ID = select(func.max(_TABLE.c.id))
_INSERT = _insert(_TABLE)


@dataclass(frozen=True)
class Stored:
    """What the journal holds for one received message once its transaction committed."""

    entry_id: int
    is_new: bool
    state: str
    ack: bytes | None
    ack_code: str | None
    received_at: datetime


def row(**values: Any) -> dict[str, Any]:
    """A complete journal row (every column the writer inserts), defaults filled in."""
    base: dict[str, Any] = {
        "sender": "",
        "control_id": None,
        "message_type": "",
        "trigger_event": "",
        "version": "",
        "peer": "",
        "charset": "",
        "state": journal.RECEIVED,
        "attempts": 0,
        "error_code": None,
        "error": None,
        "ack_code": None,
        "ack": None,
    }
    base.update(values)
    return base


class JournalWriter:
    """Group commit with no thread of its own: the first caller to find no commit running
    becomes the leader, commits everything waiting (its own message first among them) and
    settles every caller's future; the others wait, and one of them leads the next commit.

    A writer thread in between would cost two thread hand-offs per message (each up to a GIL
    switch interval while the applier computes); the leader pays none, and messages arriving
    during a commit still share the next one.
    """

    def __init__(
        self, uow_factory: UnitOfWorkFactory, max_batch: int = 512, spool: Spool | None = None
    ) -> None:
        self.uow_factory = uow_factory
        self.max_batch = max_batch
        # With a spool (SQLite), messages are committed there, not in the record database, and
        # a resend is looked for in both (integration/spool.py).
        self.spool = spool
        table = spool.table if spool is not None else _TABLE
        self._known = _known(table) if spool is not None else _KNOWN
        self._insert = _insert(table) if spool is not None else _INSERT
        self._spool_ids_set = False
        self.commits = 0
        self.written = 0
        self._pending: deque[tuple[dict[str, Any], Future[Stored]]] = deque()
        self._turn = threading.Condition()  # guards _pending, _leading, _in_flight
        self._leading = False
        self._in_flight = 0  # submitted and not yet answered
        self._last_submit = 0.0
        self.after_commit: Callable[[list[tuple[dict[str, Any], Stored]]], None] | None = None

    def write(self, values: dict[str, Any]) -> Stored:
        """Journal one message; returns once it is committed (or raises if the commit failed)."""
        future: Future[Stored] = Future()
        with self._turn:
            self._last_submit = time.monotonic()
            self._in_flight += 1
            self._pending.append((values, future))
            while self._leading and not future.done():
                self._turn.wait()
            lead = not future.done()
            if lead:
                self._leading = True
        try:
            if lead:
                self._lead(future)
            return future.result()
        finally:
            with self._turn:
                self._in_flight -= 1

    def waiting(self) -> bool:
        """Whether a message is waiting for its journal commit (the applier yields to it)."""
        return self._in_flight > 0

    def apply_budget(self) -> float:
        """How long the applier may hold the write lock: short while senders are sending
        (their next message must not wait long for its journal commit), longer when the
        line has been quiet for a while and the applier is draining a backlog."""
        quiet_for = time.monotonic() - self._last_submit
        return 0.05 if quiet_for > 0.25 else 0.004

    def wait_quiet(self, gap: float = 0.002, patience: float = 0.5) -> None:
        """Block until nothing is waiting for the journal and nothing arrived for ``gap``
        seconds, or ``patience`` seconds passed.

        On SQLite one transaction writes at a time; the applier calls this before each
        transaction so a message waiting for its ACK never queues behind a long apply, and
        ``patience`` keeps the applier from starving under sustained load.
        """
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            if self._in_flight <= 0 and time.monotonic() - self._last_submit >= gap:
                return
            time.sleep(gap / 2)

    def stop(self) -> None:
        """Nothing to stop: commits run in the callers' threads."""

    def _lead(self, own: Future[Stored]) -> None:
        """Commit batches until ``own`` is settled, then hand the lead on."""
        try:
            while not own.done():
                with self._turn:
                    n = min(len(self._pending), self.max_batch)
                    batch = [self._pending.popleft() for _ in range(n)]
                if not batch:  # taken by a leader that died before answering it
                    own.set_exception(RuntimeError("journal commit abandoned; please resend"))
                    break
                self._commit_and_settle(batch)
                with self._turn:
                    self._turn.notify_all()  # followers whose messages were in it
        finally:
            with self._turn:
                self._leading = False
                self._turn.notify_all()  # one of the rest leads the next commit

    def _commit_and_settle(self, batch: list[tuple[dict[str, Any], Future[Stored]]]) -> None:
        try:
            results = self._commit([values for values, _ in batch])
        except BaseException as exc:  # the database is down: every caller hears it
            log.exception("journal commit of %d message(s) failed", len(batch))
            for _, future in batch:
                future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        if self.after_commit is not None:
            try:
                pairs = [(v, r) for (v, _), r in zip(batch, results, strict=True)]
                self.after_commit(pairs)
            except Exception:
                log.exception("journal after-commit hook failed")
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)

    def _commit(self, batch: list[dict[str, Any]]) -> list[Stored]:
        try:
            return self._commit_batch(batch)
        except IntegrityError:
            if self.spool is not None:  # another listener process spooled a copy: see it now
                return self._commit_batch(batch)
            # Another process journalled one of these control ids between our look-up and
            # our insert (PostgreSQL, several listeners): fall back to one at a time.
            return [self._commit_one(values) for values in batch]

    def _commit_batch(self, batch: list[dict[str, Any]]) -> list[Stored]:
        results: list[Stored | None] = [None] * len(batch)
        # A bare Core transaction: the journal changes no record, so the unit of work's
        # session and before-commit hooks would only add to every ACK's wait.
        if self.spool is not None and not self._spool_ids_set:
            # Spool ids become journal ids: start above the journal's (only the leader is here).
            with self.uow_factory.engine.connect() as main:
                self.spool.continue_ids_after(main.execute(_LAST_ID).scalar() or 0)
            self._spool_ids_set = True
        target = self.spool or self.uow_factory
        with target.write_connection() as conn:
            by_sender: dict[str, list[str]] = defaultdict(list)
            for values in batch:
                if values["control_id"]:
                    by_sender[values["sender"]].append(values["control_id"])
            known: dict[tuple[str, str], Stored] = {}
            for sender, control_ids in by_sender.items():
                for chunk in _chunks(sorted(set(control_ids)), 400):
                    params = {"sender": sender, "control_ids": chunk}
                    found = list(conn.execute(self._known, params))
                    if self.spool is not None:  # moved on to the journal already?
                        seen = {row[1] for row in found}
                        if len(seen) < len(chunk):
                            rest = [c for c in chunk if c not in seen]
                            with self.uow_factory.engine.connect() as main:
                                params["control_ids"] = rest
                                found += main.execute(_KNOWN, params)
                    for entry_id, control_id, state, ack, ack_code, received_at in found:
                        known[(sender, control_id)] = Stored(
                            entry_id, False, state, ack, ack_code, received_at
                        )
            new_rows: list[dict[str, Any]] = []
            new_index: list[int] = []
            first_in_batch: dict[tuple[str, str], int] = {}
            for i, values in enumerate(batch):
                key = (values["sender"], values["control_id"])
                if values["control_id"] and key in known:
                    results[i] = known[key]
                elif values["control_id"] and key in first_in_batch:
                    continue  # a resend inside the same batch: answered like the first copy
                else:
                    if values["control_id"]:
                        first_in_batch[key] = i
                    new_rows.append({c: values[c] for c in _COLUMNS})
                    new_index.append(i)
            if new_rows:
                ids = conn.execute(self._insert, new_rows).scalars()
                for i, entry_id in zip(new_index, ids, strict=True):
                    v = batch[i]
                    results[i] = Stored(
                        entry_id, True, v["state"], v["ack"], v["ack_code"], v["received_at"]
                    )
        self.commits += 1
        self.written += len(new_rows)
        for i, values in enumerate(batch):
            if results[i] is None:
                first = results[first_in_batch[(values["sender"], values["control_id"])]]
                assert first is not None
                results[i] = Stored(
                    first.entry_id,
                    False,
                    first.state,
                    first.ack,
                    first.ack_code,
                    first.received_at,
                )
        return [r for r in results if r is not None]

    def _commit_one(self, values: dict[str, Any]) -> Stored:
        with self.uow_factory() as uow:
            entry = InboundMessage(**{c: values[c] for c in _COLUMNS})
            entry, is_new = journal.record(uow.session, entry)
            stored = Stored(
                entry.id, is_new, entry.state, entry.ack, entry.ack_code, entry.received_at
            )
            uow.commit()
        return stored


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
