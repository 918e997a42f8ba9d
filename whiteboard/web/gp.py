"""GP routes: a practice sends its synopsis, clinicians read it where shared, administrators
record each practice's sharing authorisation, and GPs see their own patients' episodes.

Permissions are in ``whiteboard/auth/policy.py`` like every route's; the scoping that the
policy cannot express (a GP only for their own practice's registered patients; the synopsis
only where the practice shares) is here and in ``whiteboard.gp_record``. Every view of a
synopsis is audited, and so is every change of a practice's sharing.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from sqlalchemy import func, select

from config.services import services
from mpi.models import Patient
from whiteboard.auth.audit import changed_by
from whiteboard.auth.principal import Principal
from whiteboard.errors import InvalidCommand, RecordError, UnknownPatient
from whiteboard.gp_commands import AuthoriseGpSharing, RevokeGpSharing
from whiteboard.gp_handlers import NotRegisteredWithPractice, SharingStateConflict
from whiteboard.gp_record import gp_record_for, sharing_listing
from whiteboard.gp_synopsis_json import BadSynopsis, PracticeMismatch, parse_synopsis
from whiteboard.models import Order, Result, Stay, Ward
from whiteboard.web.access import current_principal
from whiteboard.web.problems import problem

bp = Blueprint("gp", __name__)
NOT_YOURS = "no patient with that NHS number is registered with your practice"
PORTAL_LIMIT = 200


def _principal() -> Principal:
    principal = current_principal()
    assert principal is not None  # the policy let only a permitted principal through
    return principal


# --- a practice sends its synopsis -------------------------------------------------------


@bp.post("/api/v1/gp/synopsis")
def submit_synopsis() -> Response:
    principal = _principal()
    if not principal.practice_code:
        return problem(403, "Forbidden", "your account is not linked to a GP practice")
    body = request.get_json(silent=True)
    svc = services()
    try:
        command = parse_synopsis(
            body, practice=principal.practice_code, source=f"api:{principal.name}"[:40]
        )
        with changed_by(principal):
            synopsis_id = svc.bus.handle(command)
    except PracticeMismatch as exc:
        return problem(403, "Forbidden", str(exc))
    except BadSynopsis as exc:
        return problem(422, "Unprocessable Content", str(exc))
    except (UnknownPatient, NotRegisteredWithPractice):
        # One answer for "unknown" and "another practice's": a GP cannot learn who exists.
        return problem(404, "Not Found", NOT_YOURS)
    except (InvalidCommand, RecordError) as exc:
        return problem(422, "Unprocessable Content", exc.message)
    response = jsonify({"id": synopsis_id})
    response.status_code = 201
    return response


# --- clinicians read it ------------------------------------------------------------------


def view_gp_record(principal: Principal, patient: Patient, via: str) -> dict[str, Any]:
    """The GP record panel's content for ``patient``; audited when content is shown.

    The caller has already checked the principal's role (``policy.may_view_gp_record``) and
    loaded the patient within the principal's scope.
    """
    svc = services()
    with svc.read_session() as session:
        record = gp_record_for(session, patient)
    if record["status"] == "shown":
        svc.audit.record(
            "gp_synopsis.view",
            principal=principal,
            patient_id=patient.id,
            detail={
                "practice": record["practice"],
                "synopsis": record["synopsis"]["id"],
                "via": via,
            },
        )
    return record


@bp.get("/api/v1/patients/<int:patient_id>/gp-synopsis")
def api_patient_synopsis(patient_id: int) -> Response:
    principal = _principal()
    with services().read_session() as session:
        patient = session.get(Patient, patient_id)
    if patient is None:
        return problem(404, "Not Found", "no patient with that id")
    return jsonify(view_gp_record(principal, patient, request.path))


# --- administrators record each practice's authorisation ---------------------------------


def _authorise(principal: Principal, practice: str, by: str, note: str) -> int:
    svc = services()
    with changed_by(principal):
        row_id = svc.bus.handle(
            AuthoriseGpSharing(
                svc.clock.now(),
                practice=practice,
                authorised_by=by,
                recorded_by=principal.name,
                note=note,
            )
        )
    svc.audit.record(
        "gp_sharing.authorise",
        principal=principal,
        detail={"practice": practice.strip().upper(), "authorised_by": by.strip()},
    )
    return row_id


def _revoke(principal: Principal, practice: str) -> int:
    svc = services()
    with changed_by(principal):
        row_id = svc.bus.handle(
            RevokeGpSharing(svc.clock.now(), practice=practice, revoked_by=principal.name)
        )
    svc.audit.record(
        "gp_sharing.revoke", principal=principal, detail={"practice": practice.strip().upper()}
    )
    return row_id


def _listing() -> list[dict[str, Any]]:
    with services().read_session() as session:
        return sharing_listing(session)


@bp.get("/api/v1/admin/gp-sharing")
def sharing_list() -> Response:
    return jsonify({"authorisations": _listing()})


@bp.post("/api/v1/admin/gp-sharing")
def sharing_authorise() -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return problem(422, "Unprocessable Content", "the body must be a JSON object")
    practice, by, note = body.get("practice"), body.get("authorised_by"), body.get("note", "")
    if not isinstance(practice, str) or not 0 < len(practice.strip()) <= 12:
        return problem(422, "Unprocessable Content", "practice must be an ODS code")
    if not isinstance(by, str) or not by.strip():
        return problem(
            422, "Unprocessable Content", "authorised_by (who at the practice) is required"
        )
    if not isinstance(note, str):
        return problem(422, "Unprocessable Content", "note must be a string")
    try:
        row_id = _authorise(_principal(), practice, by, note)
    except SharingStateConflict as exc:
        return problem(409, "Conflict", exc.message)
    except (InvalidCommand, RecordError) as exc:
        return problem(422, "Unprocessable Content", exc.message)
    response = jsonify({"id": row_id})
    response.status_code = 201
    return response


@bp.post("/api/v1/admin/gp-sharing/<practice>/revoke")
def sharing_revoke(practice: str) -> Response:
    try:
        row_id = _revoke(_principal(), practice)
    except SharingStateConflict as exc:
        return problem(409, "Conflict", exc.message)
    return jsonify({"id": row_id})


@bp.get("/admin/gp-sharing")
def sharing_page() -> str:
    return render_template("gp_sharing.html", listing=_listing(), error=None)


@bp.post("/admin/gp-sharing")
def sharing_page_authorise() -> Response | tuple[str, int]:
    practice = request.form.get("practice", "").strip()
    by = request.form.get("authorised_by", "").strip()
    error = None
    if not practice or len(practice) > 12 or not by:
        error = "Enter the practice's ODS code and who at the practice authorised sharing."
    else:
        try:
            _authorise(_principal(), practice, by, request.form.get("note", ""))
        except RecordError as exc:
            error = exc.message
    if error:
        return render_template("gp_sharing.html", listing=_listing(), error=error), 422
    return redirect(url_for("gp.sharing_page"), code=303)


@bp.post("/admin/gp-sharing/<practice>/revoke")
def sharing_page_revoke(practice: str) -> Response | tuple[str, int]:
    try:
        _revoke(_principal(), practice)
    except RecordError as exc:
        return render_template("gp_sharing.html", listing=_listing(), error=exc.message), 409
    return redirect(url_for("gp.sharing_page"), code=303)


# --- the GP portal: own registered patients' hospital episodes ----------------------------


def _portal_rows(principal: Principal) -> list[dict[str, Any]]:
    practice = principal.practice_code or "\x00"
    with services().read_session() as session:
        orders = (
            select(Order.patient_id, func.count().label("n")).group_by(Order.patient_id).subquery()
        )
        results = (
            select(Result.patient_id, func.count().label("n"))
            .group_by(Result.patient_id)
            .subquery()
        )
        rows = session.execute(
            select(
                Stay.id,
                Stay.state,
                Stay.patient_class,
                Stay.admitted_at,
                Stay.discharged_at,
                Ward.code.label("ward"),
                Patient.id.label("patient_id"),
                Patient.family_name,
                Patient.given_names,
                Patient.nhs_number,
                func.coalesce(orders.c.n, 0).label("orders"),
                func.coalesce(results.c.n, 0).label("results"),
            )
            .join(Patient, Patient.id == Stay.patient_id)
            .join(Ward, Ward.id == Stay.ward_id)
            .outerjoin(orders, orders.c.patient_id == Patient.id)
            .outerjoin(results, results.c.patient_id == Patient.id)
            .where(Patient.gp_practice_code == practice)
            .where(Stay.state != "cancelled")
            .order_by(Stay.admitted_at.desc(), Stay.id.desc())
            .limit(PORTAL_LIMIT)
        ).all()
    return [
        {
            "stay": r.id,
            "patient_id": r.patient_id,
            "patient": f"{r.family_name.upper()}, {r.given_names}".strip(", "),
            "nhs_number": r.nhs_number,
            "ward": r.ward,
            "class": r.patient_class,
            "state": r.state,
            "admitted_at": r.admitted_at.isoformat(),
            "discharged_at": r.discharged_at.isoformat() if r.discharged_at else None,
            "orders": r.orders,
            "results": r.results,
        }
        for r in rows
    ]


def _audited_portal() -> list[dict[str, Any]]:
    principal = _principal()
    rows = _portal_rows(principal)
    services().audit.record(
        "gp.portal", principal=principal, detail={"episodes": len(rows), "via": request.path}
    )
    return rows


@bp.get("/gp")
def portal() -> str:
    principal = _principal()
    return render_template(
        "gp_portal.html", episodes=_audited_portal(), practice=principal.practice_code
    )


@bp.get("/api/v1/gp/episodes")
def api_portal() -> Response:
    return jsonify({"practice": _principal().practice_code, "episodes": _audited_portal()})
