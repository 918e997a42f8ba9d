"""The records clerks' duplicate queue page (keyboard-driven; data from /api/v1/mpi/)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint(
    "mpi_pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/mpi/static",
)


@bp.get("/mpi/review")
def review() -> str:
    return render_template("mpi/review.html")
