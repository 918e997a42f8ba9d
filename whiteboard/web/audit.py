"""Managers' audit search ("who looked at my record?") and the chain check."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request

from config.services import services
from whiteboard.web.problems import problem

bp = Blueprint("audit", __name__)


def _query() -> tuple[int | None, str | None] | Response:
    raw_patient = request.args.get("patient", "").strip()
    actor = request.args.get("staff", "").strip()[:80] or None
    if raw_patient and not raw_patient.isdigit():
        return problem(400, "Bad Request", "patient must be a patient id (digits)")
    return (int(raw_patient) if raw_patient else None), actor


@bp.get("/audit")
def page() -> str | tuple[str, int]:
    parsed = _query()
    if isinstance(parsed, Response):
        return render_template("audit.html", entries=[], error="patient must be digits"), 400
    patient_id, actor = parsed
    entries = services().audit.search(patient_id=patient_id, actor=actor)
    return render_template(
        "audit.html", entries=entries, patient=patient_id or "", staff=actor or "", error=""
    )


@bp.get("/api/v1/audit")
def api_search() -> Response:
    parsed = _query()
    if isinstance(parsed, Response):
        return parsed
    patient_id, actor = parsed
    return jsonify({"entries": services().audit.search(patient_id=patient_id, actor=actor)})


@bp.get("/api/v1/audit/verify")
def api_verify() -> Response:
    check = services().audit.verify()
    return jsonify({"ok": check.ok, "entries": check.entries, "first_bad_id": check.first_bad_id})
