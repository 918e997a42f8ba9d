"""JSON problem bodies (RFC 9457) for every API error, so no caller ever sees a traceback."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


def problem(status: int, title: str, detail: str = "", **extra: object) -> Response:
    """``extra`` members (RFC 9457 extensions) say more, e.g. ``rule`` for a refused action."""
    body: dict[str, object] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def register_problem_handlers(app: Flask) -> None:
    def wants_json() -> bool:
        return request.path.startswith("/api/") or request.path == "/healthz"

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response | HTTPException:
        if not wants_json():
            return exc
        return problem(exc.code or 500, exc.name, exc.description or "")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response | tuple[str, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return problem(500, "Internal Server Error", "the error has been logged")
        return "Something went wrong; the error has been logged.", 500
