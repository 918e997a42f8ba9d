"""Alerts, the A&E breach list and the beds due free, added to a ward's snapshot.

Everything here is a function of the record (read in a fixed number of batched queries) and
the ``now`` it is given, so a frozen clock gives the same board every time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from config.clinical import ClinicalRules
from whiteboard.alerts.clock import local_date, local_moment
from whiteboard.alerts.evaluate import alerts_for_attendance, alerts_for_stay
from whiteboard.alerts.facts import DoctorInCharge
from whiteboard.alerts.model import Alert
from whiteboard.board.clinical_facts import (
    ClinicalRows,
    _utc,
    attendance_facts,
    clinician_name,
    load_clinical_rows,
    stay_facts,
)
from whiteboard.models import Clinician, Stay, Ward

# A&E shifts start at these local hours; the breach list covers the shift now running.
SHIFT_START_HOURS = (8, 20)
BREACH_CODES = ("ae_4h", "ae_12h", "trolley_12h")


def shift_start(now: datetime, rules: ClinicalRules) -> datetime:
    local = now.astimezone(rules.tz)
    starts = [
        local_moment(local.date() + timedelta(days=d), None, rules.tz) + timedelta(hours=h)
        for d in (-1, 0)
        for h in SHIFT_START_HOURS
    ]
    return max(s for s in starts if s <= now)


@lru_cache(maxsize=16)
def _evaluators(
    rules: ClinicalRules,
) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
    """Memoised rule evaluation for one set of rules, keyed on the record rows and the minute.

    Alerts are evaluated at the start of the current minute: boards show minutes and the
    re-push job runs every minute. Within a minute a change to one patient re-evaluates that
    patient only: the others' rows are unchanged, so their alerts come from the memo without
    even building their facts again.
    """

    @lru_cache(maxsize=16384)
    def stay(key: tuple[Any, ...], minute: datetime) -> tuple[dict[str, Any], ...]:
        stay_id, admitted_at, age, main, referrals, orders = key
        rows = _rows(main, referrals, (), orders)
        facts = stay_facts(stay_id, admitted_at, age, rows)
        return tuple(a.to_dict() for a in alerts_for_stay(facts, minute, rules))

    @lru_cache(maxsize=4096)
    def attendance(key: tuple[Any, ...], minute: datetime) -> tuple[dict[str, Any], ...]:
        stay_id, admitted_at, main, responsible, doctor, orders = key
        rows = _rows(main, (), responsible, orders)
        facts = attendance_facts(stay_id, admitted_at, rows, current_doctor=doctor)
        # The clock column already shows time since arrival; only warnings are alerts.
        return tuple(
            a.to_dict() for a in alerts_for_attendance(facts, minute, rules) if a.level != "info"
        )

    @lru_cache(maxsize=4096)
    def breaches(key: tuple[Any, ...], minute: datetime) -> tuple[Alert, ...]:
        stay_id, admitted_at, main, responsible, doctor, orders, state, ended_at = key
        rows = _rows(main, (), responsible, orders)
        facts = attendance_facts(
            stay_id, admitted_at, rows, state=state, ended_at=ended_at, current_doctor=doctor
        )
        return tuple(
            a
            for a in alerts_for_attendance(facts, minute, rules)
            if a.code in BREACH_CODES and a.level == rules.ae.breach_level
        )

    return stay, attendance, breaches


def _rows(
    main: Any, referrals: tuple[Any, ...], responsible: tuple[Any, ...], orders: tuple[Any, ...]
) -> ClinicalRows:
    """The per-stay rows back from their hashable key (``main`` is the joined plan/obs row)."""
    rows = ClinicalRows(
        referrals=list(referrals), responsible=list(responsible), orders=list(orders)
    )
    if main is not None:
        rows.plan = main if main.plan_stay_id is not None else None
        rows.latest_obs = main if main.obs_id is not None else None
        rows.vte_assessed_at = _utc(main.vte_at)
    return rows


def evaluation_minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def add_alerts(
    session: Session,
    snapshot: dict[str, Any],
    stays: list[Any],
    now: datetime,
    rules: ClinicalRules,
) -> None:
    """Fill ``alerts`` for every patient; add ``breaches`` (A&E) or ``beds_due_free`` (wards).

    ``stays`` are the snapshot's stay rows (id, patient_class, admitted_at, age, doctor).
    """
    ward = snapshot["ward"]
    is_ae = ward["kind"] == "ae"
    rows = load_clinical_rows(session, [s.id for s in stays], responsible=is_ae)
    by_key = {p["key"]: p for p in snapshot["patients"]}
    today = local_date(now, rules.tz)
    minute = evaluation_minute(now)
    eval_stay, eval_attendance, _ = _evaluators(rules)
    due_free: list[dict[str, Any]] = []
    for stay in stays:
        patient = by_key[f"s-{stay.id}"]
        r = rows[stay.id]
        main = r.main
        if stay.patient_class == "E":
            doctor = _current_doctor(stay)
            key = (stay.id, stay.admitted_at, main, tuple(r.responsible), doctor, tuple(r.orders))
            alerts = eval_attendance(key, minute)
            dta = r.plan.decision_to_admit_at if r.plan is not None else None
            patient["decision_to_admit_at"] = _iso(dta)
        else:
            key = (
                stay.id,
                stay.admitted_at,
                patient.get("age"),
                main,
                tuple(r.referrals),
                tuple(r.orders),
            )
            alerts = eval_stay(key, minute)
            obs = r.latest_obs
            patient["news2"] = (
                None
                if obs is None or obs.news2_total is None
                else {"total": obs.news2_total, "band": obs.news2_band, "at": _iso(obs.taken_at)}
            )
            plan = r.plan
            patient["edd"] = plan.edd.isoformat() if plan is not None and plan.edd else None
            patient["edd_time"] = (
                plan.edd_time.strftime("%H:%M") if plan is not None and plan.edd_time else None
            )
            patient["pathway"] = plan.pathway if plan is not None else None
            patient["criteria_to_reside"] = (
                [c for c in plan.criteria_to_reside.split(",") if c] if plan is not None else []
            )
            edd = plan.edd if plan is not None else None
            if edd is not None and patient.get("bed") and 0 <= (edd - today).days <= 1:
                due_free.append(
                    {
                        "bed": patient["bed"],
                        "patient": patient["key"],
                        "day": "today" if edd == today else "tomorrow",
                        "edd": edd.isoformat(),
                        "expected_time": patient["edd_time"],
                    }
                )
        # Copies: the memoised dicts are shared between snapshots.
        patient["alerts"] = [dict(a) for a in alerts]
    if is_ae:
        snapshot["breaches"] = breach_list(session, snapshot, stays, rows, now, rules)
    else:
        due_free.sort(key=lambda d: (d["edd"], d["expected_time"] or "99:99", d["bed"]))
        snapshot["beds_due_free"] = {
            "today": [d for d in due_free if d["day"] == "today"],
            "tomorrow": [d for d in due_free if d["day"] == "tomorrow"],
        }


def breach_list(
    session: Session,
    snapshot: dict[str, Any],
    active: list[Any],
    rows_active: dict[int, Any],
    now: datetime,
    rules: ClinicalRules,
) -> dict[str, Any]:
    """Every breach whose clock passed during this shift, with the doctor responsible then,
    including patients who have since left the department.

    Evaluated at the start of the minute, like the patients' own alerts, so a patient's icon
    and the breach list change together (and unchanged attendances come from the memo).
    """
    start = shift_start(now, rules)
    left = (
        session.connection()
        .execute(_left_query(), {"code": snapshot["ward"]["code"], "start": start})
        .all()
    )
    rows = dict(rows_active)
    rows.update(load_clinical_rows(session, [r.id for r in left], orders=False))
    minute = evaluation_minute(now)
    *_, eval_breaches = _evaluators(rules)
    entries: list[tuple[Alert, str]] = []
    for stay in [*[s for s in active if s.patient_class == "E"], *left]:
        r = rows[stay.id]
        key = (
            stay.id,
            stay.admitted_at,
            r.main,
            tuple(r.responsible),
            _current_doctor(stay),
            tuple(r.orders),
            getattr(stay, "state", "active"),
            getattr(stay, "discharged_at", None),
        )
        for alert in eval_breaches(key, minute):
            if alert.since is not None and alert.since >= start:
                entries.append((alert, f"s-{stay.id}"))
    entries.sort(key=lambda e: e[0].since or start)
    in_department = {f"s-{s.id}" for s in active}
    return {
        "shift_start": start.isoformat(),
        "items": [
            {
                "patient": key,
                "code": a.code,
                "at": _iso(a.since),
                "label": a.label,
                "responsible": None
                if a.responsible is None
                else {"code": a.responsible.code, "name": a.responsible.name},
                "in_department": key in in_department,
            }
            for a, key in entries
        ],
    }


@lru_cache(maxsize=1)
def _left_query() -> Any:
    """A&E attendances that ended since the shift started (built once: it runs every push)."""
    return (
        select(
            Stay.id,
            Stay.admitted_at,
            Stay.discharged_at,
            Stay.state,
            Clinician.code.label("doctor_code"),
            Clinician.prefix.label("doctor_prefix"),
            Clinician.given_names.label("doctor_given"),
            Clinician.family_name.label("doctor_family"),
        )
        .join(Ward, Ward.id == Stay.ward_id)
        .outerjoin(Clinician, Clinician.id == Stay.clinician_id)
        .where(Ward.code == bindparam("code"))
        .where(Stay.patient_class == "E")
        .where(Stay.state.in_(("ended", "discharged")))
        .where(Stay.discharged_at >= bindparam("start"))
    )


def _current_doctor(stay: Any) -> DoctorInCharge | None:
    code = stay.doctor_code
    if not code:
        return None
    name = clinician_name(stay.doctor_prefix, stay.doctor_given, stay.doctor_family)
    return DoctorInCharge(stay.admitted_at, code, name)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def alert_signature(snapshot: dict[str, Any]) -> tuple[tuple[str, str, str, str], ...]:
    """What the periodic re-push compares: which alerts, at which level, on which patient."""
    return tuple(
        (p["key"], a["code"], a["level"], a.get("ref") or "")
        for p in snapshot.get("patients", ())
        for a in p.get("alerts", ())
    )
