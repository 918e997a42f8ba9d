"""The JSON API under /api/v1/ (described by /api/v1/openapi.json)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from config.services import services
from whiteboard.board.snapshot import ward_summaries
from whiteboard.web.access import current_principal
from whiteboard.web.openapi import openapi_document
from whiteboard.web.problems import problem

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/wards")
def wards() -> Response:
    with services().read_session() as session:
        return jsonify({"wards": ward_summaries(session)})


@bp.get("/wards/<code>/board")
def ward_board(code: str) -> Response:
    principal = current_principal()
    publisher = services().publisher
    snapshot = (
        publisher.kiosk_snapshot(code)
        if principal is None or principal.is_kiosk
        else publisher.snapshot(code)
    )
    if snapshot is None:
        return problem(404, "Not Found", f"no ward with code {code!r}")
    return jsonify(snapshot)


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())
