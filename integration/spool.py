"""The HL7 spool (SQLite only): where a received message is made durable before its ACK.

SQLite has one writer per database file. With the journal in the record database, a message's
journal commit waited for whatever apply transaction held the write lock (several ms of ORM
work), and that wait was most of the ACK latency at 100 msg/s. The spool is a second SQLite
file next to the database with the journal's columns: the ACK path commits there (its own
write lock, its own fsync) and never waits for the records. Entry ids are allocated here and
kept, so an entry has one id from reception on.

The applier moves spooled rows into the journal (``inbound_message``) at the start of the
transaction that applies them, then deletes them from the spool; the journal stays the one
record of every message (monitor, error queue, replay, retention) and exactly-once still rests
on the claim in the record database (``journal.claim_applied``, same transaction as the
change). A crash between the two files leaves a spooled row that the journal already holds:
``InboundPipeline.recover`` deletes it without applying anything.

A resend is recognised across both files: the spool is searched inside the spool's write
transaction, then the journal. The applier inserts into the journal before it deletes from the
spool, so a row missing from the spool is already in the journal when it is read afterwards.

No migrations: the spool holds only messages on their way in and is created when missing.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    make_url,
    select,
    text,
)
from sqlalchemy.exc import OperationalError

from config.db import UTCDateTime, make_engine
from config.unit_of_work import UnitOfWorkFactory

_metadata = MetaData()

SPOOLED = Table(
    "spooled_message",
    _metadata,
    # AUTOINCREMENT: an id is never handed out twice, even after its row moved on.
    Column("id", Integer, primary_key=True),
    Column("sender", String(200), nullable=False, default=""),
    Column("control_id", String(200)),
    Column("message_type", String(10), nullable=False, default=""),
    Column("trigger_event", String(10), nullable=False, default=""),
    Column("version", String(10), nullable=False, default=""),
    Column("peer", String(100), nullable=False, default=""),
    Column("received_at", UTCDateTime, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("charset", String(20), nullable=False, default=""),
    Column("state", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error_code", String(10)),
    Column("error", Text),
    Column("ack_code", String(2)),
    Column("ack", LargeBinary),  # every column is one of the journal's, under the same name
    UniqueConstraint("sender", "control_id"),
    sqlite_autoincrement=True,
)

_ROWS = select(SPOOLED).where(SPOOLED.c.id.in_(bindparam("ids", expanding=True)))
_DELETE = delete(SPOOLED).where(SPOOLED.c.id.in_(bindparam("ids", expanding=True)))


def spool_path(database_url: str) -> Path | None:
    """The spool file for a SQLite database file (``x.sqlite`` -> ``x.hl7spool.sqlite``); None
    for PostgreSQL, whose writers do not queue behind one another, and in-memory SQLite."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    db = Path(url.database)
    return db.with_name(f"{db.stem}.hl7spool{db.suffix or '.sqlite'}")


class Spool:
    """The spool file: its own engine and writer lock, so that its commits never queue behind
    the record database's (``InboundPipeline`` moves entries on; nothing else writes here)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.engine = make_engine(f"sqlite:///{path}", pool_size=4, max_overflow=16)
        # Under the write lock: processes starting together (an MLLP listener and the
        # scheduler) would otherwise both find no table and one fail "database is locked"
        # upgrading its read to a write.
        for attempt in range(5):  # a brand-new file's switch to WAL can also refuse at once
            try:
                with self.engine.execution_options(sqlite_begin="IMMEDIATE").begin() as conn:
                    _metadata.create_all(conn)
                break
            except OperationalError:
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
        self.writes = UnitOfWorkFactory(self.engine)  # its own writer lock and BEGIN IMMEDIATE
        self.table = SPOOLED

    def write_connection(self) -> Any:
        """A write transaction on the spool (the ACK path's group commit)."""
        return self.writes.write_connection()

    def continue_ids_after(self, last_journal_id: int) -> None:
        """Hand out ids above every journal entry's (an existing journal, or one written while
        the spool was off), so a moved row keeps its id."""
        with self.write_connection() as conn:
            seq = conn.execute(
                text("SELECT seq FROM sqlite_sequence WHERE name = 'spooled_message'")
            ).scalar()
            highest = max(last_journal_id, seq or 0, _max_id(conn))
            if seq is None:
                conn.execute(
                    text("INSERT INTO sqlite_sequence (name, seq) VALUES ('spooled_message', :n)"),
                    {"n": highest},
                )
            elif highest > seq:
                conn.execute(
                    text("UPDATE sqlite_sequence SET seq = :n WHERE name = 'spooled_message'"),
                    {"n": highest},
                )

    def rows(self, ids: list[int]) -> list[dict[str, Any]]:
        """The spooled rows with these ids (a read: no lock), every journal column."""
        if not ids:
            return []
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(_ROWS, {"ids": ids})]

    def pending(self) -> list[dict[str, Any]]:
        """Every spooled row, in id order (recovery after a restart)."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(SPOOLED).order_by(SPOOLED.c.id))]

    def forget(self, ids: list[int]) -> None:
        """Delete rows the journal now holds. Without an fsync of its own: a delete lost in a
        crash leaves a row the journal holds already, which recovery deletes again."""
        if not ids:
            return
        with self.writes.write_connection(durable=False) as conn:
            for start in range(0, len(ids), 500):
                conn.execute(_DELETE, {"ids": ids[start : start + 500]})

    def waiting(self) -> tuple[int, datetime | None]:
        """(entries waiting to be applied, when the oldest arrived), for monitoring: with the
        journal's "received" entries they make the HL7 backlog."""
        c = SPOOLED.c
        with self.engine.connect() as conn:
            n, oldest = conn.execute(
                select(func.count(), func.min(c.received_at)).where(c.state == "received")
            ).one()
        return int(n or 0), oldest

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(SPOOLED)).scalar() or 0)

    def checkpoint(self) -> None:
        self.writes.checkpoint()

    def dispose(self) -> None:
        self.engine.dispose()


def _max_id(conn: Connection) -> int:
    return int(conn.execute(select(func.max(SPOOLED.c.id))).scalar() or 0)
