"""Managers' report pages: tables, a chart (PNG/SVG) and CSV downloads for any period.

Routes (no sign-on yet: the security branch protects ``/reports/``):
``/reports/``, ``/reports/<key>``, ``/reports/<key>.csv?table=<table>``,
``/reports/<key>.png``, ``/reports/<key>.svg``; each takes ``?from=YYYY-MM-DD&to=YYYY-MM-DD``
(local UK days, inclusive; default the 12 weeks up to yesterday, at most 366 days).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, current_app, render_template, request

from config.db import utcnow
from config.services import services
from whiteboard.reports.catalogue import REPORTS, ReportKind
from whiteboard.reports.period import Period
from whiteboard.reports.report_cache import CachedReport, ReportCache
from whiteboard.web.problems import problem

bp = Blueprint("reports", __name__, url_prefix="/reports")

DEFAULT_DAYS = 84
MAX_DAYS = 366


class BadPeriod(ValueError):
    pass


def _period(tz: ZoneInfo) -> Period:
    yesterday = utcnow().astimezone(tz).date() - timedelta(days=1)
    try:
        end = date.fromisoformat(request.args["to"]) if request.args.get("to") else yesterday
        start = (
            date.fromisoformat(request.args["from"])
            if request.args.get("from")
            else end - timedelta(days=DEFAULT_DAYS - 1)
        )
        period = Period(start, end)
    except ValueError as exc:
        raise BadPeriod(f"from/to must be dates as YYYY-MM-DD with from <= to ({exc})") from None
    if (period.end - period.start).days >= MAX_DAYS:
        raise BadPeriod(f"a report covers at most {MAX_DAYS} days")
    return period


def report_cache(app: Flask) -> ReportCache:
    """This app's cache of computed reports and chart images (one per app, made on first use)."""
    cache = app.extensions.get("wardboard.report_cache")
    if cache is None:
        seconds = app.extensions["wardboard"].settings.report_cache_seconds
        cache = app.extensions.setdefault("wardboard.report_cache", ReportCache(seconds))
    return cache


def _compute(key: str) -> tuple[ReportKind, Period, CachedReport] | Response:
    kind = REPORTS.get(key)
    if kind is None:
        return problem(404, "Not Found", f"no report {key!r}; reports: {', '.join(REPORTS)}")
    svc = services()
    tz = ZoneInfo(svc.settings.timezone)
    try:
        period = _period(tz)
    except BadPeriod as exc:
        return problem(400, "Bad Request", str(exc))
    now = utcnow()

    def compute() -> object:
        with svc.read_session() as session:
            return kind.compute(session, period, tz, svc.settings.clinical, now)

    cached = report_cache(current_app).report(
        (kind.key, period.start, period.end), compute, now, kind.tables
    )
    return kind, period, cached


@bp.get("/")
def index() -> str:
    return render_template("reports_index.html", reports=REPORTS.values())


@bp.get("/<key>")
def page(key: str) -> Response | str:
    computed = _compute(key)
    if isinstance(computed, Response):
        return computed
    kind, period, cached = computed
    query = f"from={period.start.isoformat()}&to={period.end.isoformat()}"
    tz = ZoneInfo(services().settings.timezone)
    return render_template(
        "report.html",
        kind=kind,
        period=period,
        tables=cached.tables,
        query=query,
        computed_at=cached.computed_at.astimezone(tz),
        cache_seconds=services().settings.report_cache_seconds,
    )


@bp.get("/<key>.csv")
def csv_download(key: str) -> Response:
    computed = _compute(key)
    if isinstance(computed, Response):
        return computed
    kind, period, cached = computed
    tables = cached.tables
    wanted = request.args.get("table", tables[0].key)
    table = next((t for t in tables if t.key == wanted), None)
    if table is None:
        names = ", ".join(t.key for t in tables)
        return problem(404, "Not Found", f"report {key!r} has no table {wanted!r}; tables: {names}")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.headers)
    writer.writerows(table.rows)
    name = f"{kind.key}-{table.key}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/<key>.<any(png, svg):fmt>")
def chart(key: str, fmt: str) -> Response:
    computed = _compute(key)
    if isinstance(computed, Response):
        return computed
    kind, _, cached = computed
    mimetype = "image/png" if fmt == "png" else "image/svg+xml"
    image = report_cache(current_app).chart(
        (kind.key, fmt, cached.content_key), lambda: kind.chart(cached.result, fmt)
    )
    return Response(image, mimetype=mimetype)
