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
    if kind not in AUDIT_KINDS:
        raise ValueError(f"unknown identity event kind {kind!r}")
    session.connection().execute(  # no autoflush: the next flush writes what is pending
        _INSERT,
        {
            "at": utcnow(),
            "kind": kind,
            "patient_id": patient_id,
            "other_patient_id": other,
            "actor": actor,
            "detail": detail,
        },
    )


_INSERT = insert(IdentityEvent.__table__)  # type: ignore[arg-type]
