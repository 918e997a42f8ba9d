"""The journal: every received message, raw, committed before it is acknowledged.

The unique (sender, control id) pair is what makes a resend harmless: the second copy finds the
first and gets the same answer. The state column drives recovery: a message journalled but
not applied when the process died is applied on the next start.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from config.db import Base, UTCDateTime

RECEIVED, APPLIED, FAILED, REJECTED = "received", "applied", "failed", "rejected"
STATES = (RECEIVED, APPLIED, FAILED, REJECTED)
ERROR_STATES = (FAILED, REJECTED)  # the error queue a person works through and replays


class InboundMessage(Base):
    __tablename__ = "inbound_message"
    __table_args__ = (
        UniqueConstraint("sender", "control_id"),
        Index("ix_inbound_message_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sender: Mapped[str] = mapped_column(String(200), default="")
    control_id: Mapped[str | None] = mapped_column(String(200))
    message_type: Mapped[str] = mapped_column(String(10), default="")
    trigger_event: Mapped[str] = mapped_column(String(10), default="")
    version: Mapped[str] = mapped_column(String(10), default="")
    peer: Mapped[str] = mapped_column(String(100), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    charset: Mapped[str] = mapped_column(String(20), default="")
    state: Mapped[str] = mapped_column(String(10), default=RECEIVED)
    attempts: Mapped[int] = mapped_column(default=0)
    error_code: Mapped[str | None] = mapped_column(String(10))
    error: Mapped[str | None] = mapped_column(Text)
    ack_code: Mapped[str | None] = mapped_column(String(2))
    ack: Mapped[bytes | None] = mapped_column(LargeBinary)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def find(session: Session, sender: str, control_id: str) -> InboundMessage | None:
    return session.scalars(
        select(InboundMessage)
        .where(InboundMessage.sender == sender)
        .where(InboundMessage.control_id == control_id)
    ).first()


def record(session: Session, entry: InboundMessage) -> tuple[InboundMessage, bool]:
    """Store ``entry`` unless this sender already sent this control id; (row, is_new)."""
    if entry.control_id:
        existing = find(session, entry.sender, entry.control_id)
        if existing is not None:
            return existing, False
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError:  # a concurrent copy won the race (PostgreSQL)
        existing = find(session, entry.sender, entry.control_id or "")
        if existing is None:
            raise
        return existing, False
    return entry, True


def claim_applied(
    session: Session, entry_id: int, ack_code: str, ack: bytes | None, at: datetime
) -> bool:
    """Mark applied only if nobody else did: the guard against applying a message twice.

    ``ack`` None keeps the ACK already stored (the sender was answered before applying).
    Rejected entries can be claimed too: that is a replay after a person fixed the cause.
    """
    # A Core statement on the session's connection: no ORM bulk-update machinery and no
    # autoflush here (the handler's changes are flushed once, when its savepoint commits).
    params: dict[str, object] = {"entry_id": entry_id, "at": at}
    if ack is not None:
        params.update(ack_code=ack_code, ack=ack)
    result = session.connection().execute(_claim_statement(ack is not None), params)
    return result.rowcount == 1


CLAIMABLE = (RECEIVED, FAILED, REJECTED)


def claimable(conn: Connection, ids: list[int]) -> set[int]:
    """Which of ``ids`` may still be claimed (``claim_applied`` would succeed), locking them.

    For a batch that claims its entries together at its end (``claim_applied_many``) instead
    of one statement per message: called first in the batch's transaction, it takes the rows'
    locks (``FOR UPDATE`` on PostgreSQL; on SQLite the transaction already holds the one write
    lock), so nobody else can claim them before this transaction ends.
    """
    if not ids:
        return set()
    table = InboundMessage.__table__
    query = (
        select(table.c.id)
        .where(table.c.id.in_(ids))
        .where(table.c.state.in_(CLAIMABLE))
        .with_for_update()
    )
    return set(conn.execute(query).scalars())


def claim_applied_many(
    conn: Connection, claims: list[tuple[int, str, bytes | None]], at: datetime
) -> int:
    """``claim_applied`` for many entries (entry id, ACK code, ACK or None), one executemany per
    statement shape; returns how many rows changed. The caller checked ``claimable`` in the
    same transaction, so every one of them is claimed."""
    changed = 0
    for with_ack in (False, True):
        params: list[dict[str, object]] = [
            {"entry_id": entry_id, "at": at, "ack_code": code, "ack": ack}
            if with_ack
            else {"entry_id": entry_id, "at": at}
            for entry_id, code, ack in claims
            if (ack is not None) == with_ack
        ]
        if params:
            changed += conn.execute(_claim_statement(with_ack), params).rowcount
    return changed


@lru_cache(maxsize=2)
def _claim_statement(with_ack: bool) -> Any:
    table = InboundMessage.__table__
    values: dict[str, object] = {
        "state": APPLIED,
        "applied_at": bindparam("at", type_=table.c.applied_at.type),
        "error": None,
        "error_code": None,
        "attempts": table.c.attempts + 1,
    }
    if with_ack:
        values.update(ack_code=bindparam("ack_code"), ack=bindparam("ack", type_=table.c.ack.type))
    # Spelled out rather than ``IN (...)``: an expanding IN cannot be used in an executemany.
    claimable_state = or_(*(table.c.state == state for state in CLAIMABLE))
    return (
        update(table)
        .where(table.c.id == bindparam("entry_id"))
        .where(claimable_state)
        .values(**values)
    )


def purge(session: Session, older_than: datetime, batch: int = 5000) -> int:
    """Delete applied and rejected entries received before ``older_than`` (retention).

    Failed entries stay, whatever their age, until a person replays them: the error queue
    must not empty itself. Deletes in batches so a long backlog never holds the write lock
    for long.
    """
    ids = list(
        session.scalars(
            select(InboundMessage.id)
            .where(InboundMessage.received_at < older_than)
            .where(InboundMessage.state.in_((APPLIED, REJECTED)))
            .order_by(InboundMessage.id)
            .limit(batch)
        )
    )
    if ids:
        session.execute(
            delete(InboundMessage)
            .where(InboundMessage.id.in_(ids))
            .execution_options(synchronize_session=False)
        )
    return len(ids)


def unapplied_ids(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(InboundMessage.id)
            .where(InboundMessage.state == RECEIVED)
            .order_by(InboundMessage.id)
        )
    )


# Aggregates for monitoring (whiteboard/web/metrics.py). Each is one indexed query, cheap
# enough to run on every scrape; all processes sharing the database see the same answer.


def count_by_state(session: Session) -> dict[str, int]:
    """Journal entries per state, every state present (0 when none)."""
    counts = dict.fromkeys(STATES, 0)
    rows = session.execute(
        select(InboundMessage.state, func.count()).group_by(InboundMessage.state)
    )
    counts.update({state: n for state, n in rows})
    return counts


def error_queue_by_type(session: Session) -> dict[str, int]:
    """The error queue (failed and rejected) per message type, e.g. ``ADT^A01``; unreadable
    messages, which have no type, count under ``""``."""
    rows = session.execute(
        select(InboundMessage.message_type, InboundMessage.trigger_event, func.count())
        .where(InboundMessage.state.in_(ERROR_STATES))
        .group_by(InboundMessage.message_type, InboundMessage.trigger_event)
    )
    counts: dict[str, int] = {}
    for message_type, trigger, n in rows:
        kind = f"{message_type}^{trigger}" if message_type else ""
        counts[kind] = counts.get(kind, 0) + n
    return counts


def oldest_unapplied_received_at(session: Session) -> datetime | None:
    """When the oldest entry still waiting to be applied arrived (None: nothing waiting)."""
    return session.scalar(
        select(InboundMessage.received_at)
        .where(InboundMessage.state == RECEIVED)
        .order_by(InboundMessage.id)
        .limit(1)
    )
