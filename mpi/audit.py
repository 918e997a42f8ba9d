"""Identity audit events: every add, update, link, unlink, merge and unmerge, with who and why.

A wrong merge puts two people in one record; the audit trail is how a clerk finds out what the
machine (or a colleague) did and when, and what to undo.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from config.db import Base, UTCDateTime, utcnow

AUDIT_KINDS = ("add", "update", "link", "unlink", "merge", "unmerge", "not_duplicate", "queue")


class IdentityEvent(Base):
    __tablename__ = "mpi_identity_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(20))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    other_patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    actor: Mapped[str] = mapped_column(String(80), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record(
    session: Session,
    kind: str,
    patient_id: int,
    *,
    other: int | None = None,
    actor: str = "",
    **detail: Any,
) -> None:
    """Append one identity event, written at once.

    A Core insert rather than ``session.add``: the HL7 applier writes several of these per
    admission, and an ORM object each costs a flush's bookkeeping for a row nobody reads back
    in the same transaction. ``patient_id`` (and ``other``) are ids, so those patients are
    already in the database.
    """
    write(session, [row(kind, patient_id, other=other, actor=actor, **detail)])


def row(
    kind: str, patient_id: int, *, other: int | None = None, actor: str = "", **detail: Any
) -> dict[str, Any]:
    """One identity event's values, timed now, for ``write`` to insert later with others
    (``resolve_identity`` writes a new patient's "add" and "link" events in one statement)."""
    if kind not in AUDIT_KINDS:
        raise ValueError(f"unknown identity event kind {kind!r}")
    return {
        "at": utcnow(),
        "kind": kind,
        "patient_id": patient_id,
        "other_patient_id": other,
        "actor": actor,
        "detail": detail,
    }


def write(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert events made by ``row``, in their order: one Core statement (an executemany for
    several). No autoflush: the next flush writes what is pending; the patients they name
    must be in the database already."""
    if rows:
        session.connection().execute(_INSERT, rows[0] if len(rows) == 1 else rows)


_INSERT = insert(IdentityEvent.__table__)  # type: ignore[arg-type]
