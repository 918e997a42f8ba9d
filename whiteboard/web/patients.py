"""A minimal patient record: search and one patient's details, scoped and audited.

GPs see only patients registered with their own practice (``Patient.gp_practice_code``); a
patient of another practice answers exactly like a patient who does not exist (404), so a GP
cannot learn that they exist. Every successful view is written to the audit log. The record
holds the hospital episodes (stays), orders and results: what a GP sees of their patients'
hospital care. Clinicians whose role may read GP records also get the GP record panel on the
page, shown only where the patient's practice shares it (``whiteboard.web.gp``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, request
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from config.services import services
from mpi.models import Patient
from whiteboard.auth import roles
from whiteboard.auth.policy import decide, may_view_gp_record
from whiteboard.auth.principal import Principal
from whiteboard.models import Order, Result, Stay
from whiteboard.order_catalogue import CATALOGUE, PRIORITIES
from whiteboard.web.access import current_principal
from whiteboard.web.gp import view_gp_record
from whiteboard.web.problems import problem

bp = Blueprint("patients", __name__)
NOT_FOUND = "no patient with that id"


def _scoped(query: Any, principal: Principal) -> Any:
    if principal.role == "gp":
        return query.where(Patient.gp_practice_code == (principal.practice_code or "\x00"))
    return query


def _load(session: Session, patient_id: int, principal: Principal) -> Patient | None:
    query = _scoped(
        select(Patient).where(Patient.id == patient_id).options(selectinload(Patient.identifiers)),
        principal,
    )
    return session.scalars(query).first()


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _record_json(session: Session, p: Patient) -> dict[str, Any]:
    stays = session.scalars(
        select(Stay)
        .where(Stay.patient_id == p.id)
        .options(selectinload(Stay.ward))
        .order_by(Stay.admitted_at.desc())
        .limit(50)
    ).all()
    orders = session.scalars(
        select(Order).where(Order.patient_id == p.id).order_by(Order.ordered_at.desc()).limit(100)
    ).all()
    results = session.scalars(
        select(Result)
        .where(Result.patient_id == p.id)
        .order_by(Result.reported_at.desc())
        .limit(100)
    ).all()
    return {
        "id": p.id,
        "display_name": p.display_name,
        "nhs_number": p.nhs_number,
        "date_of_birth": p.date_of_birth.isoformat() if p.date_of_birth else None,
        "sex": p.sex,
        "address": p.address,
        "postcode": p.postcode,
        "gp_practice_code": p.gp_practice_code,
        "identifiers": [
            {"authority": i.authority, "type": i.id_type, "value": i.value} for i in p.identifiers
        ],
        "stays": [
            {
                "id": s.id,
                "state": s.state,
                "admitted_at": s.admitted_at.isoformat(),
                "discharged_at": _iso(s.discharged_at),
                "class": s.patient_class,
                "status": s.status,
                "ward_id": s.ward_id,
                "ward": s.ward.code,
            }
            for s in stays
        ],
        "orders": [
            {
                "id": o.id,
                "service": o.service_text or o.service_code,
                "status": o.status,
                "ordered_at": _iso(o.ordered_at),
                "ordering_practice": o.ordering_practice,
                "placer_order_number": o.placer_order_number,
                "kind": o.kind,
                "priority": o.priority,
                "ordered_by": o.ordered_by,
                "consultant_directed": o.consultant_directed,
                "source": "web" if o.source.startswith("web") else "hl7",
            }
            for o in orders
        ],
        "results": [
            {
                "id": r.id,
                "order_id": r.order_id,
                "service": r.service_text or r.service_code,
                "report_status": r.report_status,
                "reported_at": _iso(r.reported_at),
                "observations": [line for line in r.observations.splitlines() if line],
            }
            for r in results
        ],
    }


def _view(patient_id: int, with_gp_record: bool = False) -> dict[str, Any] | None:
    principal = current_principal()
    assert principal is not None  # the policy let only signed-on staff through
    svc = services()
    with svc.read_session() as session:
        p = _load(session, patient_id, principal)
        record = _record_json(session, p) if p is not None else None
    if record is None or p is None:
        return None
    svc.audit.record(
        "patient.view", principal=principal, patient_id=patient_id, detail=request.path
    )
    if with_gp_record and may_view_gp_record(principal):
        record["gp_record"] = view_gp_record(principal, p, request.path)
    return record


def _search(q: str) -> list[dict[str, Any]]:
    principal = current_principal()
    assert principal is not None
    # NUL cannot be stored or compared in PostgreSQL text; no name or number contains one.
    q = q.replace("\x00", "").strip()[:100]
    if len(q) < 2:
        return []
    digits = q.replace(" ", "")
    like = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query = _scoped(
        select(Patient)
        .where(
            or_(
                Patient.family_name.ilike(like, escape="\\"),
                Patient.nhs_number == digits,
            )
        )
        .where(Patient.merged_into_id.is_(None))
        .order_by(Patient.family_name, Patient.given_names)
        .limit(50),
        principal,
    )
    with services().read_session() as session:
        found = [
            {"id": p.id, "display_name": p.display_name, "nhs_number": p.nhs_number}
            for p in session.scalars(query)
        ]
    services().audit.record(
        "patient.search", principal=principal, detail={"q": q, "hits": len(found)}
    )
    return found


@bp.get("/patients")
def search() -> str:
    q = request.args.get("q", "")
    return render_template("patients.html", q=q, results=_search(q) if q else [])


@bp.get("/patients/<int:patient_id>")
def record(patient_id: int) -> str:
    rec = _view(patient_id, with_gp_record=True)
    if rec is None:
        abort(404)
    # Doctors and consultants get the order form (``order.place``); it posts to the API.
    may_order = decide(roles.ORDER_PLACE, current_principal()).allowed
    return render_template(
        "patient.html",
        record=rec,
        may_order=may_order,
        catalogue=CATALOGUE,
        priorities=PRIORITIES,
    )


@bp.get("/api/v1/patients")
def api_search() -> Response:
    return jsonify({"patients": _search(request.args.get("q", ""))})


@bp.get("/api/v1/patients/<int:patient_id>")
def api_record(patient_id: int) -> Response:
    rec = _view(patient_id)
    if rec is None:
        return problem(404, "Not Found", NOT_FOUND)
    return jsonify(rec)
