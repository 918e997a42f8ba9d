"""A ward's whole board as one JSON-ready dict: the contract in docs/BOARD_UI.md.

A screen gets the whole snapshot when it joins; later pushes are patches against the last one
pushed (whiteboard/board/patch.py), and a screen that missed one asks for the whole board again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, bindparam, select
from sqlalchemy.orm import Session, selectinload

from config.clinical import ClinicalRules
from mpi.models import NHS_AUTHORITY, Patient, PatientIdentifier
from whiteboard.board.alerts_snapshot import add_alerts
from whiteboard.models import Bay, Bed, Clinician, OutpatientBooking, Stay, Ward
from whiteboard.models.stay import PATIENT_CLASS_STATUS
from whiteboard.models.ward import BED_STATUS_TEXT


def age_on(dob: date | None, today: date) -> int | None:
    if dob is None:
        return None
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def format_nhs_number(nhs: str | None) -> str | None:
    if not nhs or len(nhs) != 10:
        return nhs
    return f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"


def initials(family: str, given: str) -> str:
    return "".join(part[:1].upper() for part in (*given.split()[:1], family) if part)


def ward_summaries(session: Session) -> list[dict[str, Any]]:
    """The index page's list: every ward with its bed counts."""
    wards = session.scalars(select(Ward).options(selectinload(Ward.beds)).order_by(Ward.position))
    patients: dict[int, int] = {}
    for ward_id in session.scalars(select(Stay.ward_id).where(Stay.state == "active")):
        patients[ward_id] = patients.get(ward_id, 0) + 1
    out = []
    for ward in wards:
        counts = bed_counts(ward.beds)
        out.append(
            {
                "code": ward.code,
                "name": ward.name,
                "kind": ward.kind,
                "beds_total": counts["total"],
                "beds_occupied": counts["occupied"],
                "beds_free": counts["free"],
                "patients": patients.get(ward.id, 0),
            }
        )
    return out


def bed_counts(beds: list[Bed]) -> dict[str, int]:
    return _counts([b.status for b in beds])


def _counts(statuses: list[str]) -> dict[str, int]:
    return {
        "total": len(statuses),
        "occupied": sum(1 for s in statuses if s == "O"),
        "free": sum(1 for s in statuses if s == "U"),
        "cleaning": sum(1 for s in statuses if s in ("H", "K")),
        "closed": sum(1 for s in statuses if s in ("C", "I")),
    }


def build_snapshot(
    session: Session,
    ward_code: str,
    now: datetime,
    tz_name: str,
    rules: ClinicalRules | None = None,
) -> dict[str, Any] | None:
    """Narrow Core queries, no ORM objects: this runs on every change a ward sees.

    With ``rules`` the patients carry their alerts (and the A&E breach list or the beds due
    free are added); without, ``alerts`` stay empty (the benchmark's baseline).
    """
    queries = _queries()
    ward = session.connection().execute(queries.ward, {"code": ward_code}).first()
    if ward is None:
        return None
    beds = session.connection().execute(queries.beds, {"ward_id": ward.id}).all()
    stays = session.connection().execute(queries.stays, {"ward_id": ward.id}).all()
    numbers = _hospital_numbers(session, [row.patient_id for row in stays])
    today = now.astimezone(ZoneInfo(tz_name)).date()
    stay_by_bed = {row.bed_id: row.id for row in stays if row.bed_id is not None}
    bed_by_id = {b.id: b for b in beds}

    bays: dict[int | None, dict[str, Any]] = {}
    for b in beds:
        bay = bays.setdefault(
            b.bay_id,
            {"code": b[5] or "", "name": b[6] or "Other beds", "beds": []},
        )
        stay_id = stay_by_bed.get(b.id)
        bay["beds"].append(
            {
                "code": b.code,
                "label": b.label,
                "status": b.status,
                "status_text": BED_STATUS_TEXT.get(b.status, b.status),
                "patient": f"s-{stay_id}" if stay_id else None,
            }
        )

    patients = []
    for row in stays:
        bed = bed_by_id.get(row.bed_id) if row.bed_id is not None else None
        doctor = None
        if row[10]:
            initial = f"{row[12][:1]} " if row[12] else ""
            doctor = {"code": row[10], "name": f"{row[11]} {initial}{row[13]}".strip()}
        patients.append(
            {
                "key": f"s-{row.id}",
                "display_name": f"{row.family_name.upper()}, {row.given_names}".strip(", "),
                "initials": initials(row.family_name, row.given_names),
                "hospital_number": numbers.get(row.patient_id),
                "nhs_number": format_nhs_number(row.nhs_number),
                "sex": row.sex,
                "age": age_on(row.date_of_birth, today),
                "bed": bed.label if bed else None,
                "bay": bed[5] if bed else None,
                "status": PATIENT_CLASS_STATUS.get(row.patient_class, "inpatient"),
                "admitted_at": row.admitted_at.isoformat(),
                "doctor": doctor,
                # Leave of absence (A21..A22): still holds the bed, away from the ward.
                "on_leave_since": (
                    row.leave_started_at.isoformat()
                    if row.leave_started_at is not None and row.leave_ended_at is None
                    else None
                ),
                "alerts": [],
            }
        )
    patients.extend(_visiting(session, ward.id, today, {row.patient_id for row in stays}, numbers))
    all_beds = [bed for bay in bays.values() for bed in bay["beds"]]
    snapshot = {
        "ward": {"code": ward.code, "name": ward.name, "kind": ward.kind},
        "version": ward.version,
        "generated_at": now.isoformat(),
        "timezone": tz_name,
        "beds": _counts([bed["status"] for bed in all_beds]),
        "bays": list(bays.values()),
        "patients": patients,
    }
    if rules is not None:
        add_alerts(session, snapshot, list(stays), now, rules)
    return snapshot


def _visiting(
    session: Session, ward_id: int, today: date, present: set[int], numbers: dict[int, str]
) -> list[dict[str, Any]]:
    """Outpatients booked to visit this ward today, shown as visiting (one batched query)."""
    params = {"ward_id": ward_id, "today": today}
    rows = session.connection().execute(_queries().visiting, params).all()
    missing = [r.patient_id for r in rows if r.patient_id not in numbers]
    numbers = {**numbers, **_hospital_numbers(session, missing)}
    out = []
    for row in rows:
        if row.patient_id in present:
            continue
        present.add(row.patient_id)
        out.append(
            {
                "key": f"b-{row.id}",
                "display_name": f"{row.family_name.upper()}, {row.given_names}".strip(", "),
                "initials": initials(row.family_name, row.given_names),
                "hospital_number": numbers.get(row.patient_id),
                "nhs_number": format_nhs_number(row.nhs_number),
                "sex": row.sex,
                "age": age_on(row.date_of_birth, today),
                "bed": None,
                "bay": None,
                "status": "outpatient",
                "admitted_at": None,
                "visit_time": row.visit_time.strftime("%H:%M") if row.visit_time else None,
                "doctor": None,
                "alerts": [],
            }
        )
    return out


def _hospital_numbers(session: Session, patient_ids: list[int]) -> dict[int, str]:
    """Each patient's hospital number (MR), else any local identifier."""
    if not patient_ids:
        return {}
    rows = session.connection().execute(_queries().numbers, {"ids": patient_ids}).all()
    out: dict[int, str] = {}
    for patient_id, id_type, value in rows:
        if id_type == "MR" or patient_id not in out:
            out[patient_id] = value
    return out


@dataclass(frozen=True)
class _Queries:
    ward: Any
    beds: Any
    stays: Any
    visiting: Any
    numbers: Any


@lru_cache(maxsize=1)
def _queries() -> _Queries:
    """The snapshot's statements, built once with bound parameters.

    A snapshot runs on every change a ward sees; building five select() constructs each time
    cost about as much Python as running them (the database answers these in microseconds).
    """
    ward = select(Ward.id, Ward.code, Ward.name, Ward.kind, Ward.version).where(
        Ward.code == bindparam("code")
    )
    beds = (
        select(Bed.id, Bed.code, Bed.label, Bed.status, Bed.bay_id, Bay.code, Bay.name)
        .outerjoin(Bay, Bay.id == Bed.bay_id)
        .where(Bed.ward_id == bindparam("ward_id"))
        .order_by(Bay.position, Bed.position)
    )
    stays = (
        select(
            Stay.id,
            Stay.patient_id,
            Stay.patient_class,
            Stay.bed_id,
            Stay.admitted_at,
            Patient.family_name,
            Patient.given_names,
            Patient.nhs_number,
            Patient.sex,
            Patient.date_of_birth,
            Clinician.code.label("doctor_code"),
            Clinician.prefix.label("doctor_prefix"),
            Clinician.given_names.label("doctor_given"),
            Clinician.family_name.label("doctor_family"),
            Stay.leave_started_at,
            Stay.leave_ended_at,
        )
        .join(Patient, Patient.id == Stay.patient_id)
        .outerjoin(Clinician, Clinician.id == Stay.clinician_id)
        .where(Stay.ward_id == bindparam("ward_id"))
        .where(Stay.state == "active")
        .order_by(Stay.admitted_at, Stay.id)
    )
    visiting = (
        select(
            OutpatientBooking.id,
            OutpatientBooking.patient_id,
            OutpatientBooking.visit_time,
            OutpatientBooking.reason,
            Patient.family_name,
            Patient.given_names,
            Patient.nhs_number,
            Patient.sex,
            Patient.date_of_birth,
        )
        .join(Patient, Patient.id == OutpatientBooking.patient_id)
        .where(OutpatientBooking.ward_id == bindparam("ward_id"))
        .where(OutpatientBooking.visit_date == bindparam("today", type_=Date))
        .where(OutpatientBooking.cancelled_at.is_(None))
        .order_by(OutpatientBooking.visit_time, OutpatientBooking.id)
    )
    numbers = (
        select(PatientIdentifier.patient_id, PatientIdentifier.id_type, PatientIdentifier.value)
        .where(PatientIdentifier.patient_id.in_(bindparam("ids", expanding=True)))
        .where(PatientIdentifier.authority != NHS_AUTHORITY)
        .order_by(PatientIdentifier.id)
    )
    return _Queries(ward, beds, stays, visiting, numbers)
