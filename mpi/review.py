"""The clerks' review queue: candidate pairs the machine is unsure of, with its explanation.

A pair is stored once (lower patient id first). A "not a duplicate" decision is remembered on
the pair and the pair is never queued again; a deferred pair stays in the queue behind the
others.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from config.db import Base, UTCDateTime, utcnow

OPEN_STATES = ("open", "deferred")


class ReviewPair(Base):
    __tablename__ = "mpi_review_pair"
    __table_args__ = (UniqueConstraint("patient_a_id", "patient_b_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_a_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    patient_b_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    # Higher first: a pair where one record is in hospital now splits a live history.
    risk: Mapped[float] = mapped_column(Float, index=True)
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)
    found_by: Mapped[str] = mapped_column(String(40), default="")
    decision: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(80))


def queue_pair(
    session: Session,
    a: int,
    b: int,
    decision: dict[str, Any],
    *,
    found_by: str,
    live: bool = False,
) -> ReviewPair | None:
    """Queue a pair unless it is already queued or was decided; returns the new pair or None."""
    low, high = sorted((a, b))
    existing = session.scalar(
        select(ReviewPair)
        .where(ReviewPair.patient_a_id == low)
        .where(ReviewPair.patient_b_id == high)
    )
    if existing is not None:
        if existing.state in OPEN_STATES and decision["score"] > existing.score:
            for name, value in raised_values(decision, low, live).items():
                setattr(existing, name, value)
        return None
    pair = ReviewPair(**pair_values(a, b, decision, found_by=found_by, live=live))
    session.add(pair)
    return pair


def pair_values(
    a: int, b: int, decision: dict[str, Any], *, found_by: str, live: bool
) -> dict[str, Any]:
    """The column values of a newly queued pair (shared by ``queue_pair`` and the bulk feed)."""
    low, high = sorted((a, b))
    return {
        "patient_a_id": low,
        "patient_b_id": high,
        "score": float(decision["score"]),
        "risk": _risk(decision["score"], live),
        "found_by": found_by,
        "decision": _oriented(decision, low),
    }


def raised_values(decision: dict[str, Any], low: int, live: bool) -> dict[str, Any]:
    """What an open pair takes when the same pair is found again with a higher score."""
    return {
        "score": decision["score"],
        "decision": _oriented(decision, low),
        "risk": _risk(decision["score"], live),
    }


def _risk(score: float, live: bool) -> float:
    return round(score + (100.0 if live else 0.0), 2)


def _oriented(decision: dict[str, Any], low: int) -> dict[str, Any]:
    """Make value_a in the explanation belong to patient_a (the lower id)."""
    if str(decision.get("record_id_a")) == str(low):
        return decision
    flipped = dict(decision)
    flipped["record_id_a"], flipped["record_id_b"] = (
        decision["record_id_b"],
        decision["record_id_a"],
    )
    flipped["explanation"] = [
        {**row, "value_a": row["value_b"], "value_b": row["value_a"]}
        for row in decision["explanation"]
    ]
    return flipped
