"""Alert facts for many stays at once, from the record: a fixed handful of queries per ward.

The snapshot runs after every change a ward sees and on the periodic re-push, so facts are
loaded for all of a ward's stays together (one query per table, never one per patient) and
handed to the pure rules in ``whiteboard.alerts``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from config.db import UTCDateTime
from integration.translate.orders import order_kind
from whiteboard.alerts.facts import (
    AttendanceFacts,
    DoctorInCharge,
    ObservationSet,
    OrderFacts,
    ReferralFacts,
    StayFacts,
)
from whiteboard.models import (
    Clinician,
    Observation,
    Order,
    Referral,
    ResponsibleClinician,
    Result,
    Stay,
    StayPlan,
)
from whiteboard.models.clinical import split_codes
from whiteboard.models.orders import ABNORMAL, CANCELLED, CRITICAL, FINAL_STATUSES, URGENT


@dataclass
class ClinicalRows:
    """What the record holds for one stay beyond the stay row itself."""

    main: Any = None  # the joined plan / latest VTE / latest observation row
    plan: Any = None  # that row when the stay has a plan, else None
    vte_assessed_at: datetime | None = None
    latest_obs: Any = None  # an Observation row (Core), or None
    referrals: list[Any] = field(default_factory=list)
    responsible: list[DoctorInCharge] = field(default_factory=list)
    orders: list[OrderFacts] = field(default_factory=list)


def clinician_name(prefix: str | None, given: str | None, family: str | None) -> str:
    initial = f"{given[:1]} " if given else ""
    return f"{prefix or ''} {initial}{family or ''}".strip()


@cache
def _main_query() -> Any:
    """Plan, latest VTE assessment and latest observation set per stay: one statement with
    no aggregate (the plan row points at the latest set), built once with an expanding
    ``ids`` parameter so each snapshot only binds and runs it."""
    plan_cols = [c for c in StayPlan.__table__.c if c.name not in ("stay_id", "updated_at")]
    obs_cols = [
        c
        for c in Observation.__table__.c
        if c.name not in ("id", "stay_id", "recorded_by", "recorded_at")
    ]
    return (
        select(
            Stay.id.label("sid"),
            StayPlan.stay_id.label("plan_stay_id"),
            *plan_cols,
            StayPlan.vte_assessed_at.label("vte_at"),
            Observation.id.label("obs_id"),
            *obs_cols,
        )
        .select_from(Stay)
        .outerjoin(StayPlan, StayPlan.stay_id == Stay.id)
        .outerjoin(Observation, Observation.id == StayPlan.latest_observation_id)
        .where(Stay.id.in_(bindparam("ids", expanding=True)))
    )


@cache
def _referral_query() -> Any:
    return (
        select(Referral.__table__)
        .where(Referral.stay_id.in_(bindparam("ids", expanding=True)))
        .where(Referral.cancelled_at.is_(None))
        .order_by(Referral.id)
    )


@cache
def _responsible_query() -> Any:
    return (
        select(
            ResponsibleClinician.stay_id,
            ResponsibleClinician.from_time,
            Clinician.code,
            Clinician.prefix,
            Clinician.given_names,
            Clinician.family_name,
        )
        .join(Clinician, Clinician.id == ResponsibleClinician.clinician_id)
        .where(ResponsibleClinician.stay_id.in_(bindparam("ids", expanding=True)))
        .order_by(ResponsibleClinician.from_time, ResponsibleClinician.id)
    )


@cache
def _orders_query() -> Any:
    """Each stay's orders (placed at or after its admission, before any discharge, not
    cancelled) with their results: one statement for a whole ward, oldest result first."""
    return (
        select(
            Stay.id.label("sid"),
            Stay.patient_class,
            Order.id.label("order_id"),
            Order.kind,
            Order.modality,
            Order.priority,
            Order.service_code,
            Order.service_text,
            Order.ordered_at,
            Order.performed_at,
            Order.consultant_directed,
            Result.id.label("result_id"),
            Result.report_status,
            Result.reported_at,
            Result.result_urgency,
            Result.acknowledged_at,
        )
        .select_from(Stay)
        .join(
            Order,
            and_(
                Order.patient_id == Stay.patient_id,
                Order.ordered_at >= Stay.admitted_at,
                Order.status != CANCELLED,
            ),
        )
        .outerjoin(Result, Result.order_id == Order.id)
        .where(Stay.id.in_(bindparam("ids", expanding=True)))
        .where(or_(Stay.discharged_at.is_(None), Order.ordered_at <= Stay.discharged_at))
        .order_by(Stay.id, Order.id, Result.reported_at, Result.id)
    )


@cache
def _unmatched_results_query() -> Any:
    """Results for orders we never saw, reported during each stay: kept with no order, so
    the orders query above cannot find them; one more statement for the whole ward."""
    return (
        select(
            Stay.id.label("sid"),
            Stay.patient_class,
            Result.id.label("result_id"),
            Result.placer_order_number,
            Result.filler_order_number,
            Result.service_code,
            Result.service_text,
            Result.report_status,
            Result.reported_at,
            Result.result_urgency,
            Result.acknowledged_at,
        )
        .select_from(Stay)
        .join(
            Result,
            and_(
                Result.patient_id == Stay.patient_id,
                Result.order_id.is_(None),
                Result.reported_at >= Stay.admitted_at,
            ),
        )
        .where(Stay.id.in_(bindparam("ids", expanding=True)))
        .where(or_(Stay.discharged_at.is_(None), Result.reported_at <= Stay.discharged_at))
        .order_by(Stay.id, Result.reported_at, Result.id)
    )


@lru_cache(maxsize=65536)
def unmatched_result_facts(rows: tuple[Any, ...]) -> OrderFacts:
    """The results for one unknown order (same placer/filler number), oldest first, as an
    order whose lifecycle starts at its first result: performed then, reported by its latest
    final or corrected report. ``unmatched`` lets the rule escalate it (no requester known)."""
    first = rows[0]
    finals = [r for r in rows if r.report_status in FINAL_STATUSES]
    report = finals[-1] if finals else None
    latest = report if report is not None else rows[-1]
    kind, modality = order_kind("", first.service_code)
    urgency = report.result_urgency if report is not None else "routine"
    number = first.placer_order_number or first.filler_order_number
    name = first.service_text or first.service_code or "Result"
    return OrderFacts(
        order_id=f"result-{latest.result_id}",
        kind="imaging" if kind == "imaging" else "lab",
        ordered_at=first.reported_at,
        description=f"{name} (no known order{' ' + number if number else ''})",
        modality=modality,
        inpatient=first.patient_class == "I",
        performed_at=first.reported_at,
        reported_at=report.reported_at if report is not None else None,
        acknowledged_at=report.acknowledged_at if report is not None else None,
        result_urgency="critical" if urgency == CRITICAL else "routine",
        unexpected_significant=is_unexpected_significant(kind, urgency),
        unmatched=True,
    )


@lru_cache(maxsize=65536)
def order_facts(rows: tuple[Any, ...]) -> OrderFacts:
    """One order from its joined rows (one per result, oldest first). The latest final or
    corrected report is the one to acknowledge: a correction needs reading again. Any result
    means the test was done, at the latest when the first result came."""
    first = rows[0]
    results = [r for r in rows if r.result_id is not None]
    finals = [r for r in results if r.report_status in FINAL_STATUSES]
    report = finals[-1] if finals else None
    performed_at = first.performed_at or (results[0].reported_at if results else None)
    urgency = report.result_urgency if report is not None else "routine"
    ref = f"result-{report.result_id}" if report is not None else f"order-{first.order_id}"
    return OrderFacts(
        order_id=ref,
        kind=first.kind if first.kind in ("lab", "imaging") else "lab",
        ordered_at=first.ordered_at,
        priority=first.priority if first.priority in (CRITICAL, URGENT) else "routine",
        description=first.service_text or first.service_code,
        modality=first.modality,
        inpatient=first.patient_class == "I",
        performed_at=performed_at,
        reported_at=report.reported_at if report is not None else None,
        acknowledged_at=report.acknowledged_at if report is not None else None,
        consultant_directed=bool(first.consultant_directed),
        # An abnormal (H/L) flag is acknowledged in the usual time; only critical escalates.
        result_urgency="critical" if urgency == CRITICAL else "routine",
        unexpected_significant=is_unexpected_significant(first.kind, urgency),
    )


def is_unexpected_significant(kind: str, urgency: str) -> bool:
    """An imaging report the radiologist flagged abnormal (OBX-8 H, L or A; a critical flag is
    already critical). A free-text imaging report has no reference range, so a flag on it is
    the reporter's alert, which the RCR fail-safe standard calls "unexpected significant" and
    escalates at once. A lab's H/L against a reference range is routine abnormal: it is
    acknowledged in the usual time."""
    return kind == "imaging" and urgency == ABNORMAL


def load_clinical_rows(
    session: Session,
    stay_ids: Iterable[int],
    *,
    responsible: bool = True,
    orders: bool = True,
) -> dict[int, ClinicalRows]:
    """At most five queries whatever the number of stays; ``responsible=False`` skips the
    clinician history (only A&E breach attribution reads it), ``orders=False`` the orders
    and results (only the result alerts read them)."""
    ids = sorted(set(stay_ids))
    out: dict[int, ClinicalRows] = defaultdict(ClinicalRows)
    if not ids:
        return out
    any_needs = False
    for row in session.connection().execute(_main_query(), {"ids": ids}):
        rows = out[row.sid]
        rows.main = row
        if row.plan_stay_id is not None:
            rows.plan = row
            any_needs = any_needs or bool(row.post_discharge_needs)
        rows.vte_assessed_at = _utc(row.vte_at)
        if row.obs_id is not None:
            rows.latest_obs = row
    if any_needs:
        for ref in session.connection().execute(_referral_query(), {"ids": ids}):
            out[ref.stay_id].referrals.append(ref)
    if responsible:
        for stay_id, from_time, code, prefix, given, family in session.connection().execute(
            _responsible_query(), {"ids": ids}
        ):
            out[stay_id].responsible.append(
                DoctorInCharge(from_time, code, clinician_name(prefix, given, family))
            )
    if orders:
        by_order: dict[tuple[int, int], list[Any]] = {}
        for row in session.connection().execute(_orders_query(), {"ids": ids}):
            by_order.setdefault((row.sid, row.order_id), []).append(row)
        for (sid, _), order_rows in by_order.items():
            # Memoised on the rows: unchanged orders are not rebuilt on every snapshot.
            out[sid].orders.append(order_facts(tuple(order_rows)))
        unmatched: dict[tuple[int, str, str], list[Any]] = {}
        for row in session.connection().execute(_unmatched_results_query(), {"ids": ids}):
            key = (row.sid, row.placer_order_number, row.filler_order_number)
            unmatched.setdefault(key, []).append(row)
        for (sid, _, _), result_rows in unmatched.items():
            out[sid].orders.append(unmatched_result_facts(tuple(result_rows)))
    return out


_UTC_TYPE = UTCDateTime()


def _utc(value: Any) -> datetime | None:
    """Aggregates may come back as text on SQLite: normalise through the column type."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return _UTC_TYPE.process_result_value(value, None)


def stay_facts(
    stay_id: int,
    admitted_at: datetime,
    age_years: int | None,
    rows: ClinicalRows,
    discharged_at: datetime | None = None,
) -> StayFacts:
    plan = rows.plan
    obs = rows.latest_obs
    observations = ()
    if obs is not None:
        observations = (
            ObservationSet(
                taken_at=obs.taken_at,
                respiration_rate=obs.respiration_rate,
                spo2=obs.spo2,
                spo2_scale=obs.spo2_scale,
                on_oxygen=obs.on_oxygen,
                systolic_bp=obs.systolic_bp,
                pulse=obs.pulse,
                consciousness=obs.consciousness,
                temperature=obs.temperature,
            ),
        )
    return StayFacts(
        admitted_at=admitted_at,
        stay_id=str(stay_id),
        decision_to_admit_at=plan.decision_to_admit_at if plan is not None else None,
        discharged_at=discharged_at,
        age_years=age_years,
        vte_assessed_at=rows.vte_assessed_at,
        observations=observations,
        edd=plan.edd if plan is not None else None,
        edd_time=plan.edd_time if plan is not None else None,
        edd_reviewed_at=plan.edd_reviewed_at if plan is not None else None,
        post_discharge_needs=split_codes(plan.post_discharge_needs) if plan is not None else (),
        referrals=tuple(
            ReferralFacts(
                need=r.need, referral_id=str(r.id), sent_at=r.sent_at, picked_up_at=r.picked_up_at
            )
            for r in rows.referrals
        ),
        orders=tuple(rows.orders),
    )


def attendance_facts(
    stay_id: int,
    arrived_at: datetime,
    rows: ClinicalRows,
    *,
    state: str = "active",
    ended_at: datetime | None = None,
    current_doctor: DoctorInCharge | None = None,
) -> AttendanceFacts:
    """An A&E attendance; with no clinician history the current doctor counts from arrival."""
    responsible = list(rows.responsible)
    if not responsible and current_doctor is not None:
        responsible = [current_doctor]
    plan = rows.plan
    return AttendanceFacts(
        arrived_at=arrived_at,
        attendance_id=str(stay_id),
        decision_to_admit_at=plan.decision_to_admit_at if plan is not None else None,
        admitted_at=ended_at if state == "ended" else None,
        left_at=ended_at if state in ("discharged", "cancelled") else None,
        responsible=tuple(responsible),
        orders=tuple(rows.orders),
    )


def age_on(dob: date | None, today: date) -> int | None:
    if dob is None:
        return None
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
