"""Administration: the scheduler's jobs with their last and next run (JSON and a page).

No sign-on here yet: the security branch protects ``/admin/`` and ``/api/v1/admin/``.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from config.scheduler import list_jobs
from config.services import services

bp = Blueprint("admin", __name__)


@bp.get("/api/v1/admin/jobs")
def jobs_json() -> Response:
    return jsonify(list_jobs(services()))


@bp.get("/admin/jobs")
def jobs_page() -> str:
    return render_template("admin_jobs.html", listing=list_jobs(services()))
