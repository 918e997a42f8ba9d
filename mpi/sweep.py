"""The 24-hour sweep: re-match every record created in A&E in the last day.

A&E registers people from what they can say at the door; the duplicate it creates is cheapest
to fix the same day, before results and letters pile up on it. Each run re-scores each such
record against the index (excluding itself): an auto-link merges the A&E record into the
person it duplicates, a review-zone match is queued for the clerks. The report shows how long
each record waited for its first re-check, so "none waited longer than 24 hours" can be shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from config.db import utcnow
from mpi.commands import MergePatients
from mpi.models import Patient
from mpi.records import keys_for, records_for
from mpi.resolve import DEFAULT_CONFIG, MatchConfig, search
from mpi.review import queue_pair

if TYPE_CHECKING:
    from config.bootstrap import Services

WINDOW = timedelta(hours=24)


@dataclass
class SweepResult:
    checked: int = 0
    merged: list[tuple[int, int]] = field(default_factory=list)  # (survivor, merged)
    queued: list[tuple[int, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "merged": self.merged, "queued": self.queued}


def run_sweep(
    services: Services, now: datetime | None = None, config: MatchConfig = DEFAULT_CONFIG
) -> SweepResult:
    now = now or utcnow()
    result = SweepResult()
    with services.read_session() as session:
        ids = session.scalars(
            select(Patient.id)
            .where(Patient.created_origin == "AE")
            .where(Patient.created_at >= now - WINDOW)
            .where(Patient.merged_into_id.is_(None))
            .order_by(Patient.id)
        ).all()
    for patient_id in ids:
        result.checked += 1
        target: int | None = None
        with services.uow_factory() as uow:
            s = uow.session
            patient = s.get_one(Patient, patient_id)
            if patient.merged_into_id is not None:
                continue
            record = records_for(s, [patient_id])[patient_id]
            decisions = []
            if not patient.placeholder:
                decisions = search(s, record, config=config, exclude=frozenset({patient_id}))
            elif record.nhs_number:
                decisions = search(
                    s, record, config=config, exclude=frozenset({patient_id}), placeholder=True
                )
            top = decisions[0] if decisions else None
            if top is not None and top.zone == "auto_link":
                target = int(top.record_id_b)
            else:
                for d in decisions:
                    if d.zone == "review" and queue_pair(
                        s,
                        patient_id,
                        int(d.record_id_b),
                        d.as_dict(),
                        found_by="sweep",
                        live=True,
                    ):
                        result.queued.append((patient_id, int(d.record_id_b)))
            if patient.rechecked_at is None:
                patient.rechecked_at = now
            uow.commit()
        if target is not None:
            # The older record is the person; the A&E record folds into it.
            services.bus.handle(
                MergePatients(
                    now,
                    survivor_id=target,
                    merged_id=patient_id,
                    actor="sweep",
                    reason="24-hour sweep: automatic link",
                    source="sweep",
                )
            )
            result.merged.append((target, patient_id))
    return result


def sweep_report(services: Services, now: datetime | None = None, days: int = 7) -> dict[str, Any]:
    """How long each A&E-created record waited for its first re-check, over ``days`` days."""
    now = now or utcnow()
    with services.read_session() as session:
        rows = session.execute(
            select(Patient.id, Patient.created_at, Patient.rechecked_at, Patient.merged_into_id)
            .where(Patient.created_origin == "AE")
            .where(Patient.created_at >= now - timedelta(days=days))
            .order_by(Patient.created_at)
        ).all()
    waits: list[float] = []
    overdue = []
    pending = 0
    for pid, created, rechecked, _merged in rows:
        if rechecked is not None:
            waits.append((rechecked - created).total_seconds() / 3600)
            if rechecked - created > WINDOW:
                overdue.append({"patient_id": pid, "waited_hours": round(waits[-1], 2)})
        elif now - created > WINDOW:
            overdue.append(
                {
                    "patient_id": pid,
                    "waited_hours": round((now - created).total_seconds() / 3600, 2),
                }
            )
        else:
            pending += 1
    return {
        "window_days": days,
        "ae_records": len(rows),
        "rechecked": len(waits),
        "pending_within_24h": pending,
        "max_wait_hours": round(max(waits), 2) if waits else None,
        "over_24h": overdue,
        "none_waited_over_24h": not overdue,
    }


__all__ = ["SweepResult", "keys_for", "run_sweep", "sweep_report"]
