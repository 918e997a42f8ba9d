"""Clinician actions as JSON routes under /api/v1/: each builds the same command HL7 would.

Every route takes the acting clinician from ``current_actor()`` and the time from the services'
clock; the command's handler decides (EDD gating included) and the board re-pushes on commit.
Refusals are problem+json: 401 nobody identified, 404 no such stay, 409 a clinical rule (the
body's ``rule`` names it), 422 bad input.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from config.services import services
from integration.hl7.ack import OUR_APPLICATION, OUR_FACILITY
from mpi.models import Patient
from whiteboard import clinical_commands as cc
from whiteboard import commands as cmds
from whiteboard.alerts.evaluate import alerts_for_attendance, alerts_for_stay
from whiteboard.auth import roles
from whiteboard.auth.audit import changed_by
from whiteboard.board.clinical_facts import (
    age_on,
    attendance_facts,
    load_clinical_rows,
    stay_facts,
)
from whiteboard.clinical_handlers import mark_bed_cleaned
from whiteboard.errors import (
    EddNotCurrent,
    InvalidCommand,
    NoSuchResult,
    NoSuchStay,
    RecordError,
    ResultNotAcknowledgeable,
    UnknownPatient,
)
from whiteboard.models import Referral, Stay, Ward
from whiteboard.order_catalogue import BY_CODE, CATALOGUE, PRIORITIES
from whiteboard.web.access import current_principal
from whiteboard.web.actor import Actor, current_actor
from whiteboard.web.problems import problem
from whiteboard.web.workload import current_workload

bp = Blueprint("clinical_api", __name__, url_prefix="/api/v1")


class BadInput(ValueError):
    pass


class Body:
    """The request's JSON object with typed getters that say which field is wrong."""

    def __init__(self) -> None:
        data = request.get_json(silent=True) if request.data else {}
        if not isinstance(data, dict):
            raise BadInput("the body must be a JSON object")
        self.data: dict[str, Any] = data

    def _get(self, name: str, kind: type | tuple[type, ...], required: bool) -> Any:
        value = self.data.get(name)
        if value is None:
            if required:
                raise BadInput(f"{name} is required")
            return None
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise BadInput(f"{name} must be a {_kind_name(kind)}")
        if not isinstance(value, kind):
            raise BadInput(f"{name} must be a {_kind_name(kind)}")
        return value

    def int(self, name: str, required: bool = False) -> int | None:
        return self._get(name, int, required)

    def float(self, name: str) -> float | None:
        value = self._get(name, (int, float), False)
        return None if value is None else float(value)

    def bool(self, name: str) -> bool | None:
        return self._get(name, bool, False)

    def str(self, name: str, required: bool = False) -> str | None:
        value = self._get(name, str, required)
        return None if value is None else value.strip()

    def strings(self, name: str) -> tuple[str, ...] | None:
        value = self._get(name, list, False)
        if value is None:
            return None
        if not all(isinstance(v, str) for v in value):
            raise BadInput(f"{name} must be a list of strings")
        return tuple(v.strip() for v in value if v.strip())

    def datetime(self, name: str) -> datetime | None:
        raw = self.str(name)
        if raw is None:
            return None
        try:
            value = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise BadInput(f"{name} must be an ISO 8601 date-time") from exc
        if value.tzinfo is None:
            raise BadInput(f"{name} needs a UTC offset (e.g. 2026-11-22T09:00:00+00:00)")
        return value

    def date(self, name: str, required: bool = False) -> date | None:
        raw = self.str(name, required)
        if raw is None:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError as exc:
            raise BadInput(f"{name} must be a date YYYY-MM-DD") from exc

    def time(self, name: str) -> time | None:
        raw = self.str(name)
        if not raw:
            return None
        try:
            return time.fromisoformat(raw)
        except ValueError as exc:
            raise BadInput(f"{name} must be a time HH:MM") from exc


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {int: "integer", float: "number", bool: "boolean", str: "string", list: "list"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _act(build: Callable[[Actor, datetime, Body], Any], status: int = 200) -> Response:
    """Identify the actor, parse, run the command, and answer with the result or a problem."""
    actor = current_actor()
    if actor is None:
        return problem(401, "Unauthorized", "sign in to record clinical actions")
    svc = services()
    try:
        body = Body()
        command = build(actor, svc.clock.now(), body)
        # Audited as the signed-on member of staff, not as an HL7 feed.
        with changed_by(current_principal()):
            result = svc.bus.handle(command)
    except BadInput as exc:
        return problem(422, "Unprocessable Content", str(exc))
    except EddNotCurrent as exc:
        return problem(409, "EDD not current", exc.message, rule=exc.rule)
    except ResultNotAcknowledgeable as exc:
        return problem(409, "Conflict", exc.message, rule=exc.rule)
    except (NoSuchStay, NoSuchResult, UnknownPatient) as exc:
        return problem(404, "Not Found", exc.message)
    except (InvalidCommand, RecordError) as exc:
        return problem(422, "Unprocessable Content", exc.message)
    response = jsonify({"id": result})
    response.status_code = status
    return response


@bp.post("/stays/<int:stay_id>/vte-assessments")
def record_vte(stay_id: int) -> Response:
    return _act(
        lambda a, now, b: cc.RecordVteAssessment(
            now,
            stay_id=stay_id,
            actor=a.code,
            actor_role=a.role,
            assessed_at=b.datetime("assessed_at"),
            outcome=b.str("outcome") or "",
            source="web",
        ),
        201,
    )


@bp.post("/stays/<int:stay_id>/observations")
def record_observations(stay_id: int) -> Response:
    def build(a: Actor, now: datetime, b: Body) -> cc.RecordObservations:
        scale = b.int("spo2_scale")
        return cc.RecordObservations(
            now,
            stay_id=stay_id,
            actor=a.code,
            actor_role=a.role,
            taken_at=b.datetime("taken_at"),
            respiration_rate=b.int("respiration_rate"),
            spo2=b.int("spo2"),
            spo2_scale=1 if scale is None else scale,
            on_oxygen=b.bool("on_oxygen"),
            systolic_bp=b.int("systolic_bp"),
            pulse=b.int("pulse"),
            consciousness=(b.str("consciousness") or None),
            temperature=b.float("temperature"),
            source="web",
        )

    return _act(build, 201)


@bp.put("/stays/<int:stay_id>/discharge-plan")
def set_discharge_plan(stay_id: int) -> Response:
    return _act(
        lambda a, now, b: cc.SetDischargePlan(
            now,
            stay_id=stay_id,
            actor=a.code,
            actor_role=a.role,
            edd=b.date("edd"),
            edd_time=b.time("edd_time"),
            discharge_criteria=b.str("discharge_criteria"),
            pathway=b.int("pathway"),
            post_discharge_needs=b.strings("post_discharge_needs"),
            next_review_at=b.datetime("next_review_at"),
            source="web",
        )
    )


@bp.put("/stays/<int:stay_id>/criteria-to-reside")
def set_criteria_to_reside(stay_id: int) -> Response:
    return _act(
        lambda a, now, b: cc.SetCriteriaToReside(
            now,
            stay_id=stay_id,
            actor=a.code,
            actor_role=a.role,
            codes=b.strings("codes") or (),
            source="web",
        )
    )


@bp.post("/stays/<int:stay_id>/referrals")
def make_referral(stay_id: int) -> Response:
    return _act(
        lambda a, now, b: cc.MakeReferral(
            now,
            stay_id=stay_id,
            actor=a.code,
            actor_role=a.role,
            need=b.str("need", required=True) or "",
            source="web",
        ),
        201,
    )


@bp.post("/stays/<int:stay_id>/decision-to-admit")
def decision_to_admit(stay_id: int) -> Response:
    return _act(
        lambda a, now, b: cc.RecordDecisionToAdmit(
            now,
            stay_id=stay_id,
            actor=a.code,
            actor_role=a.role,
            decided_at=b.datetime("decided_at"),
            source="web",
        )
    )


@bp.put("/stays/<int:stay_id>/responsible-clinician")
def responsible_clinician(stay_id: int) -> Response:
    return _act(
        lambda a, now, b: cc.SetResponsibleClinician(
            now,
            stay_id=stay_id,
            actor=a.code,
            actor_role=a.role,
            clinician_code=b.str("clinician", required=True) or "",
            from_time=b.datetime("from_time"),
            source="web",
        )
    )


@bp.post("/referrals/<int:referral_id>/pick-up")
def pick_up_referral(referral_id: int) -> Response:
    return _act(
        lambda a, now, b: cc.PickUpReferral(
            now, referral_id=referral_id, actor=a.code, source="web"
        )
    )


@bp.post("/results/<int:result_id>/acknowledge")
def acknowledge_result(result_id: int) -> Response:
    """A named doctor acknowledges a final (or corrected) report: the board's "not
    acknowledged" alert clears. Doctors and consultants only (``result.acknowledge``)."""

    def build(a: Actor, now: datetime, b: Body) -> cmds.AcknowledgeResult:
        # The time is the server's: an acknowledgement is never back-dated over the gap.
        if b.data:
            raise BadInput(f"unexpected field {sorted(b.data)[0]!r}: send an empty body")
        return cmds.AcknowledgeResult(
            now, result_id=result_id, actor=a.code, actor_role=a.role, source="web"
        )

    return _act(build)


ORDER_FIELDS = {"test", "priority", "consultant_directed"}
# Our placer order numbers: WB and 12 random hex digits (ORC-2 / OBR-2), unique with our
# placer system; the department's result names it back in OBR-2.
PLACER_SYSTEM = f"{OUR_APPLICATION}|{OUR_FACILITY}"


def placer_order_number() -> str:
    return "WB" + secrets.token_hex(6).upper()


def _patient_details(patient: Patient) -> cmds.PatientDetails:
    """The record's own identity, as a PID would carry it (the command stays self-describing;
    ``patient_id`` is what the handler uses)."""
    return cmds.PatientDetails(
        identifiers=tuple(
            cmds.Identifier(i.value, i.authority, i.id_type) for i in patient.identifiers
        ),
        nhs_number=patient.nhs_number,
        family_name=patient.family_name,
        given_names=patient.given_names,
        date_of_birth=patient.date_of_birth,
        sex=patient.sex,
        gp_practice_code=patient.gp_practice_code,
    )


@bp.post("/patients/<int:patient_id>/orders")
def place_order(patient_id: int) -> Response:
    """A signed-in doctor or consultant orders a blood test or x-ray (``order.place``): the
    same ``PlaceOrder`` an ORM^O01 NW makes, so it is stored as ordered, forwarded to the
    performing department's MLLP route, tracked on the board and audited as that clinician.
    A consultant's order (or a doctor's marked ``consultant_directed``) is consultant-directed
    (Seven Day Services standard 5 report times)."""

    def build(a: Actor, now: datetime, b: Body) -> cmds.PlaceOrder:
        unknown = sorted(set(b.data) - ORDER_FIELDS)
        if unknown:
            raise BadInput(f"unexpected field {unknown[0]!r}")
        code = (b.str("test", required=True) or "").upper()
        test = BY_CODE.get(code)
        if test is None:
            raise BadInput(
                f"test {code!r} is not orderable here; one of "
                + ", ".join(o.code for o in CATALOGUE)
            )
        priority = b.str("priority") or "routine"
        if priority not in PRIORITIES:
            raise BadInput(f"priority must be one of {', '.join(PRIORITIES)}")
        principal = current_principal()
        by_consultant = principal is not None and principal.role == roles.CONSULTANT
        with services().read_session() as session:
            patient = session.get(Patient, patient_id)
            if patient is None or patient.merged_into_id is not None:
                raise UnknownPatient(f"no patient {patient_id}")
            details = _patient_details(patient)
        return cmds.PlaceOrder(
            now,
            details,
            cmds.OrderDetails(
                placer_system=PLACER_SYSTEM,
                placer_order_number=placer_order_number(),
                service_code=test.code,
                service_text=test.text,
                kind=test.kind,
                modality=test.modality,
                priority=priority,
                ordered_by=a.code,
                consultant_directed=by_consultant or bool(b.bool("consultant_directed")),
            ),
            control="NW",
            source="web",
            patient_id=patient_id,
        )

    return _act(build, 201)


@bp.post("/wards/<code>/beds/<bed>/cleaned")
def bed_cleaned(code: str, bed: str) -> Response:
    return _act(lambda a, now, b: mark_bed_cleaned(code, bed, now, a.code))


@bp.post("/outpatient-bookings")
def book_outpatient_visit() -> Response:
    return _act(
        lambda a, now, b: cc.BookOutpatientVisit(
            now,
            patient_id=b.int("patient_id", required=True) or 0,
            ward=b.str("ward", required=True) or "",
            visit_date=b.date("visit_date", required=True) or now.date(),
            visit_time=b.time("visit_time"),
            reason=b.str("reason") or "",
            actor=a.code,
            source="web",
        ),
        201,
    )


@bp.get("/referrals/worklist")
def referral_worklist() -> Response:
    """The community team's open referral tasks, soonest due first; overdue ones are red."""
    if current_actor() is None:
        return problem(401, "Unauthorized", "sign in to see the referral worklist")
    svc = services()
    now = svc.clock.now()
    with svc.read_session() as session:
        rows = session.execute(
            select(
                Referral.id,
                Referral.stay_id,
                Referral.need,
                Referral.due_at,
                Referral.sent_at,
                Patient.family_name,
                Patient.given_names,
                Ward.code,
            )
            .join(Stay, Stay.id == Referral.stay_id)
            .join(Patient, Patient.id == Stay.patient_id)
            .join(Ward, Ward.id == Stay.ward_id)
            .where(Referral.picked_up_at.is_(None))
            .where(Referral.cancelled_at.is_(None))
            .where(Stay.state == "active")
            .order_by(Referral.due_at, Referral.id)
        ).all()
    items = [
        {
            "id": r.id,
            "stay": r.stay_id,
            "need": r.need,
            "patient": f"{r.family_name.upper()}, {r.given_names}".strip(", "),
            "ward": r.code,
            "due_at": r.due_at.isoformat() if r.due_at else None,
            "sent_at": r.sent_at.isoformat() if r.sent_at else None,
            "level": "red" if r.due_at is not None and now > r.due_at else "amber",
        }
        for r in rows
    ]
    return jsonify({"generated_at": now.isoformat(), "items": items})


@bp.get("/stays/<int:stay_id>")
def stay_panel(stay_id: int) -> Response:
    """What the patient panel shows: the plan, latest observations, referrals and alerts."""
    if current_actor() is None:
        return problem(401, "Unauthorized", "sign in to open a patient's panel")
    svc = services()
    rules = svc.settings.clinical
    now = svc.clock.now()
    with svc.read_session() as session:
        stay = session.get(Stay, stay_id)
        if stay is None or stay.state == "cancelled":
            return problem(404, "Not Found", f"no stay {stay_id}")
        patient = stay.patient
        rows = load_clinical_rows(session, [stay.id])[stay.id]
        from whiteboard.alerts.clock import local_date

        age = age_on(patient.date_of_birth, local_date(now, rules.tz))
        if stay.patient_class == "E":
            facts: Any = attendance_facts(
                stay.id,
                stay.admitted_at,
                rows,
                state=stay.state,
                ended_at=stay.discharged_at,
            )
            alerts = alerts_for_attendance(facts, now, rules)
        else:
            facts = stay_facts(stay.id, stay.admitted_at, age, rows, stay.discharged_at)
            alerts = alerts_for_stay(facts, now, rules)
        from whiteboard.alerts.edd import edd_is_current

        plan = rows.plan
        obs = rows.latest_obs
        body = {
            "stay": stay.id,
            "key": f"s-{stay.id}",
            "ward": stay.ward.code,
            "status": stay.status,
            "state": stay.state,
            "patient": {
                "id": patient.id,
                "display_name": f"{patient.family_name.upper()}, {patient.given_names}",
                "age": age,
            },
            "admitted_at": stay.admitted_at.isoformat(),
            "vte_assessed_at": _iso(rows.vte_assessed_at),
            "edd_current": stay.patient_class == "I" and edd_is_current(facts, now, rules),
            "plan": None
            if plan is None
            else {
                "edd": plan.edd.isoformat() if plan.edd else None,
                "edd_time": plan.edd_time.strftime("%H:%M") if plan.edd_time else None,
                "edd_reviewed_at": _iso(plan.edd_reviewed_at),
                "next_review_at": _iso(plan.next_review_at),
                "discharge_criteria": plan.discharge_criteria,
                "pathway": plan.pathway,
                "criteria_to_reside": [c for c in plan.criteria_to_reside.split(",") if c],
                "post_discharge_needs": [c for c in plan.post_discharge_needs.split(",") if c],
                "decision_to_admit_at": _iso(plan.decision_to_admit_at),
            },
            "observations": None
            if obs is None
            else {
                "taken_at": _iso(obs.taken_at),
                "news2_total": obs.news2_total,
                "news2_band": obs.news2_band,
            },
            "referrals": [
                {
                    "id": r.id,
                    "need": r.need,
                    "due_at": _iso(r.due_at),
                    "sent_at": _iso(r.sent_at),
                    "picked_up_at": _iso(r.picked_up_at),
                }
                for r in rows.referrals
            ],
            "responsible": [
                {"from": d.from_time.isoformat(), "code": d.doctor_code, "name": d.doctor_name}
                for d in rows.responsible
            ],
            # Tests ordered during the stay; ``ref`` result-<id> is what to acknowledge.
            "orders": [
                {
                    "ref": o.order_id,
                    "kind": o.kind,
                    "description": o.description,
                    "priority": o.priority,
                    "ordered_at": _iso(o.ordered_at),
                    "performed_at": _iso(o.performed_at),
                    "reported_at": _iso(o.reported_at),
                    "result_urgency": o.result_urgency,
                    "acknowledged_at": _iso(o.acknowledged_at),
                }
                for o in rows.orders
            ],
            "alerts": [a.to_dict() for a in alerts],
        }
    return jsonify(body)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@bp.get("/workload")
def workload() -> Response:
    """Managers' view: patients and open alerts (amber or worse, by level and kind) per
    responsible doctor and per nurse on the current shift's allocation, and per ward, built
    from the same snapshots the boards show (``whiteboard.workload``)."""
    if current_actor() is None:
        return problem(401, "Unauthorized", "sign in to see the workload view")
    return jsonify(current_workload())
