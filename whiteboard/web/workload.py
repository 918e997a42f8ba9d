"""The managers' workload page: patients and open alerts per doctor and per nurse now.

``/workload`` (tables of nurses, doctors and wards) and ``/workload/<who>.<png|svg>`` (a bar
chart of patients per nurse or doctor, with how many of them have open alerts), for
``workload.view`` (managers and consultants). The figures are the same as
``GET /api/v1/workload``: both call ``current_workload``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, render_template
from sqlalchemy import select

from config.services import services
from whiteboard.models import Ward
from whiteboard.nurse_allocation import nurses_on_shift
from whiteboard.reports.charts import grouped_bar_chart
from whiteboard.shifts import ShiftTimes, shift_at
from whiteboard.workload import OPEN_LEVELS, build_workload, kind_name

bp = Blueprint("workload", __name__)
CHART_PEOPLE = 30  # the busiest this many; the tables list everyone


def current_workload() -> dict[str, Any]:
    """Every ward's board snapshot and the current shift's nurse allocation, combined."""
    svc = services()
    now = svc.clock.now()
    shift = shift_at(now, ShiftTimes.from_settings(svc.settings))
    with svc.read_session() as session:
        codes = list(session.scalars(select(Ward.code).order_by(Ward.position)))
        nurses = nurses_on_shift(session, shift)
    snapshots = ((code, svc.publisher.snapshot(code)) for code in codes)
    return build_workload(snapshots, nurses, shift, now)


@bp.get("/workload")
def page() -> str:
    data = current_workload()
    tz = ZoneInfo(services().settings.timezone)
    generated = datetime.fromisoformat(data["generated_at"]).astimezone(tz)
    return render_template(
        "workload.html",
        data=data,
        levels=OPEN_LEVELS,
        kind_name=kind_name,
        generated=generated,
    )


@bp.get("/workload/<any(nurses, doctors):who>.<any(png, svg):fmt>")
def chart(who: str, fmt: str) -> Response:
    # Named people only (not the "not allocated" / "no doctor" row), busiest first.
    rows = [r for r in current_workload()[who] if r.get("code", r.get("username"))]
    rows = rows[:CHART_PEOPLE]
    title = "Patients per nurse this shift" if who == "nurses" else "Patients per doctor now"
    image = grouped_bar_chart(
        title,
        [r["name"] for r in rows],
        {
            "patients": [r["patients"] for r in rows],
            "with open alerts": [r["with_alerts"] for r in rows],
        },
        "patients",
        fmt,
    )
    return Response(image, mimetype="image/png" if fmt == "png" else "image/svg+xml")
