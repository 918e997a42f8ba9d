"""Writing the bulk GP feed's chunks: what a decided chunk changes, as rows, and a writer that
stores one chunk while the next is decided.

Deciding a chunk is Python work; storing it is mostly the database's (``COPY`` into indexed
tables, index maintenance, the commit's fsync). Done in turn, one core waits for the other
most of the time. ``ChunkWriter`` writes chunk *n* in a thread of its own, in its own
transaction, while the main thread decides chunk *n + 1* against the run's in-memory view
(``mpi.feed_view.ChunkView``), which already holds everything chunk *n* changed, so the
decisions never need the rows being written. A chunk commits whole or not at all; a failed
write stops the run at the next chunk (the chunk decided meanwhile is never written), and a
re-run skips every committed chunk by its rows' digests.
"""

from __future__ import annotations

import contextvars
import json
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Connection, Table, bindparam, delete, insert, text, update

from mpi.audit import IdentityEvent
from mpi.feed_events import FeedAnnouncements, board_day
from mpi.history import BlockingKey, PatientAddress, PatientName
from mpi.merge import MERGE_FIELDS
from mpi.models import Patient, PatientIdentifier
from mpi.review import ReviewPair

if TYPE_CHECKING:
    from config.bootstrap import Services

_P = Patient.__table__.c  # type: ignore[attr-defined]
_I = PatientIdentifier.__table__.c  # type: ignore[attr-defined]
_K = BlockingKey.__table__.c  # type: ignore[attr-defined]
_R = ReviewPair.__table__.c  # type: ignore[attr-defined]

# New rows in any of these tables, other than the feed's own, mean someone else changed the
# index during the run (every change to a record through the project's code writes an
# identity event; a clerk's decision on a pair does too).
_SIGNATURE = text(
    "SELECT (SELECT max(id) FROM patient), (SELECT max(id) FROM patient_identifier), "
    "(SELECT max(id) FROM mpi_identity_event), (SELECT max(id) FROM mpi_review_pair)"
)


def signature(conn: Connection) -> tuple[Any, ...]:
    """The highest id of each table the index's decisions read (see ``_SIGNATURE``)."""
    return tuple(conn.execute(_SIGNATURE).one())


@dataclass(slots=True)
class ChunkWrites:
    """Everything one decided chunk changes, as plain rows (copies: the view moves on)."""

    new_patients: list[dict[str, Any]] = field(default_factory=list)
    patient_updates: list[dict[str, Any]] = field(default_factory=list)
    identifiers: list[dict[str, Any]] = field(default_factory=list)
    hash_updates: list[dict[str, Any]] = field(default_factory=list)
    names: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    keys_gone: list[dict[str, Any]] = field(default_factory=list)
    keys_added: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[dict[str, Any]] = field(default_factory=list)
    pair_updates: list[dict[str, Any]] = field(default_factory=list)


def write_chunk(conn: Connection, w: ChunkWrites) -> None:
    """Everything the chunk changed, set by set, in foreign-key order (one transaction: the
    caller's)."""
    insert_rows(conn, Patient.__table__, w.new_patients)  # type: ignore[arg-type]
    if w.patient_updates:
        conn.execute(
            update(Patient.__table__)
            .where(_P.id == bindparam("b_id"))
            .values({c: bindparam(f"b_{c}") for c in (*MERGE_FIELDS, "updated_at")}),
            w.patient_updates,
        )
    insert_rows(conn, PatientIdentifier.__table__, w.identifiers)  # type: ignore[arg-type]
    if w.hash_updates:
        # By (authority, value), the unique key: an identifier this run wrote has no id here.
        conn.execute(
            update(PatientIdentifier.__table__)
            .where(_I.authority == bindparam("b_authority"))
            .where(_I.value == bindparam("b_value"))
            .values(source_hash=bindparam("b_hash")),
            w.hash_updates,
        )
    insert_rows(conn, PatientName.__table__, w.names)  # type: ignore[arg-type]
    insert_rows(conn, PatientAddress.__table__, w.addresses)  # type: ignore[arg-type]
    if w.keys_gone:
        conn.execute(
            delete(BlockingKey.__table__)
            .where(_K.patient_id == bindparam("b_pid"))
            .where(_K.key == bindparam("b_key")),
            w.keys_gone,
        )
    insert_rows(conn, BlockingKey.__table__, w.keys_added)  # type: ignore[arg-type]
    insert_rows(conn, IdentityEvent.__table__, w.events)  # type: ignore[arg-type]
    insert_rows(conn, ReviewPair.__table__, w.pairs)  # type: ignore[arg-type]
    if w.pair_updates:
        conn.execute(
            update(ReviewPair.__table__)
            .where(_R.patient_a_id == bindparam("b_low"))
            .where(_R.patient_b_id == bindparam("b_high"))
            .values(
                score=bindparam("b_score"),
                decision=bindparam("b_decision"),
                risk=bindparam("b_risk"),
            ),
            w.pair_updates,
        )


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Many rows into one table: ``COPY`` on PostgreSQL (several times faster than even a
    pipelined ``executemany``), ``executemany`` elsewhere; same transaction either way."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    names = list(rows[0])
    json_cols = {n for n in names if isinstance(table.c[n].type, JSON)}
    columns = ", ".join(f'"{n}"' for n in names)
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:  # type: ignore[union-attr]
        if json_cols:
            for row in rows:
                copy.write_row([json.dumps(row[n]) if n in json_cols else row[n] for n in names])
        else:
            for row in rows:
                copy.write_row([row[n] for n in names])


_Result = tuple[bool, tuple[Any, ...], list[Any]]


class ChunkWriter:
    """Writes the decided chunks one at a time, each in its own unit of work, in a thread of
    its own (one chunk in flight: ``submit`` is called only after ``wait``).

    Each write first reads the index's ``signature``: if it is not the one the previous write
    left, someone else changed the index since, and the chunk -- decided from what the run
    carried, which may now be stale -- is not written: ``stale`` says so, and the run decides
    it again from the database. (On SQLite the write holds the database's write lock from
    that check to its commit; on PostgreSQL another writer can still commit during a chunk's
    write, as it could between a chunk's reads and its write before.) The chunk's events are
    published on the bus by ``wait``, in the caller's thread, once it has committed."""

    def __init__(self, services: Services, expected: tuple[Any, ...] | None) -> None:
        self._services = services
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gp-feed-writer")
        self._pending: Future[_Result] | None = None
        self._expected = expected
        self.stale = False

    def submit(self, writes: ChunkWrites, changed: FeedAnnouncements) -> None:
        assert self._pending is None, "one chunk in flight"
        # The record-audit hook names the feed from a context variable: copied to the thread.
        context = contextvars.copy_context()
        self._pending = self._pool.submit(context.run, self._write, writes, changed)

    def _write(self, writes: ChunkWrites, changed: FeedAnnouncements) -> _Result:
        services = self._services
        with services.uow_factory() as uow:
            conn = uow.session.connection()
            before = signature(conn)
            if self._expected is not None and before != self._expected:
                return False, before, []  # rolled back as the unit of work closes
            write_chunk(conn, writes)
            after = signature(conn)
            changed.add_to(uow, board_day(services))
            uow.commit()
        return True, after, list(uow.collect_new_events())

    def wait(self) -> None:
        """Until the chunk in flight has committed or been refused (``stale``); a failed
        write's error is raised here."""
        if self._pending is None:
            return
        pending, self._pending = self._pending, None
        written, self._expected, events = pending.result()
        self.stale = self.stale or not written
        for event in events:
            self._services.bus.publish(event)

    def close(self) -> None:
        """Let a chunk in flight finish (it commits whole or not at all), then stop."""
        self._pool.shutdown(wait=True)
