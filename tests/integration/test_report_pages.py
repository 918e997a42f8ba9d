"""Managers' report pages, CSV downloads and chart images over HTTP."""

from __future__ import annotations

import csv
import io

import pytest

from tests.reports_fixture import build_hospital

PERIOD = "from=2026-10-24&to=2026-10-26"


@pytest.fixture
def hospital_client(client_as, services):
    with services.uow_factory() as uow:
        build_hospital(uow.session, with_vte_table=False)
        uow.commit()
    return client_as("manager")


@pytest.mark.parametrize(
    "key", ["ae", "vte", "observations", "length-of-stay", "discharges", "occupancy"]
)
def test_every_report_page_chart_and_csv(hospital_client, key):
    page = hospital_client.get(f"/reports/{key}?{PERIOD}")
    assert page.status_code == 200
    assert b"CSV" in page.data and b".png?" in page.data
    png = hospital_client.get(f"/reports/{key}.png?{PERIOD}")
    assert png.mimetype == "image/png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    svg = hospital_client.get(f"/reports/{key}.svg?{PERIOD}")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    download = hospital_client.get(f"/reports/{key}.csv?{PERIOD}")
    assert download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]


def test_ae_csv_has_the_hand_computed_figures(hospital_client):
    body = hospital_client.get(f"/reports/ae.csv?{PERIOD}&table=by_day").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == [
        "day",
        "attendances",
        "within 4 h",
        "breaches",
        "% within 4 h",
        "over 12 h from arrival",
        "over 12 h from decision to admit",
    ]
    assert rows[1:] == [
        ["2026-10-24", "0", "0", "0", "", "0", "0"],
        # A3: 13 h from arrival, exactly 12 h from decision to admit (complies).
        ["2026-10-25", "3", "1", "2", "33.3", "1", "0"],
        # A4 is still "in the department" today (the fixture never discharges it): by now it
        # has been there for weeks, so it is a breach and a 12-hour wait on both clocks.
        ["2026-10-26", "1", "0", "1", "0.0", "1", "1"],
    ]
    waits = hospital_client.get(f"/reports/ae.csv?{PERIOD}&table=twelve_hour_waits")
    waits_rows = list(csv.reader(io.StringIO(waits.get_data(as_text=True))))
    assert [r[2] for r in waits_rows[1:]] == ["2026-10-25 01:30", "2026-10-26 09:30"]
    assert [r[5:8] for r in waits_rows[1:]] == [
        ["True", "False", "False"],
        ["True", "True", "True"],
    ]
    assert waits_rows[1][4] == "720"
    by_doctor = hospital_client.get(f"/reports/ae.csv?{PERIOD}&table=breaches_by_clinician")
    assert list(csv.reader(io.StringIO(by_doctor.get_data(as_text=True))))[1:] == [
        ["(no doctor recorded)", "1"],
        ["Dr A Okafor", "1"],
        ["Dr B Brown", "1"],
    ]


def test_observations_csv_by_ward_and_week(hospital_client):
    body = hospital_client.get(f"/reports/observations.csv?{PERIOD}&table=by_ward_week")
    rows = list(csv.reader(io.StringIO(body.get_data(as_text=True))))
    assert rows[0] == [
        "ward", "week", "sets due", "on time", "late", "not taken", "% on time", "continuous"
    ]  # fmt: skip
    # Hand-computed in tests/reports_fixture.py (add_observations). The page's "now" is the
    # real clock, long after the fixture's NOW, so P7's p2 (due 12:00Z on the 26th) is now
    # "not taken" rather than "not yet due".
    assert rows[1:] == [
        ["AMU", "w/c 2026-10-19", "9", "5", "2", "2", "55.6", "1"],
        ["AMU", "w/c 2026-10-26", "1", "0", "0", "1", "0.0", "0"],
        ["W4", "w/c 2026-10-26", "2", "1", "0", "1", "50.0", "0"],
    ]


def test_occupancy_csv_bed_days_by_consultant(hospital_client):
    body = hospital_client.get(
        "/reports/occupancy.csv?from=2026-10-25&to=2026-10-26&table=bed_days_by_consultant"
    ).get_data(as_text=True)
    assert list(csv.reader(io.StringIO(body)))[1:] == [
        ["Dr A Okafor", "1.08"],
        ["Dr B Brown", "0.25"],
    ]


def test_bad_period_and_unknown_report_are_problems(hospital_client):
    bad = hospital_client.get("/reports/ae?from=2026-13-01")
    assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
    backwards = hospital_client.get("/reports/ae.csv?from=2026-10-26&to=2026-10-01")
    assert backwards.status_code == 400
    too_long = hospital_client.get("/reports/ae?from=2024-01-01&to=2026-01-01")
    assert too_long.status_code == 400 and "366" in too_long.get_json()["detail"]
    assert hospital_client.get("/reports/nothing").status_code == 404
    assert hospital_client.get(f"/reports/ae.csv?{PERIOD}&table=nope").status_code == 404
    assert hospital_client.get("/reports/").status_code == 200


def test_the_chart_and_csv_reuse_the_pages_figures_until_they_expire(hospital_client, app):
    """The page, its chart and CSV compute once; a change shows once the result expires."""
    from sqlalchemy import update

    from config.app import app_services
    from whiteboard.models import Stay
    from whiteboard.web.reports import report_cache

    services = app_services(app)
    page = hospital_client.get(f"/reports/discharges?{PERIOD}")
    assert b'id="computed-at"' in page.data
    png = hospital_client.get(f"/reports/discharges.png?{PERIOD}").data
    with services.uow_factory() as uow:  # a late correction: the discharges are undone
        uow.session.execute(update(Stay).where(Stay.state == "discharged").values(state="active"))
        uow.commit()
    kept = hospital_client.get(f"/reports/discharges.csv?{PERIOD}").get_data(as_text=True)
    assert kept.splitlines()[-1].startswith("total,4,")  # the kept figures, as the page showed
    assert hospital_client.get(f"/reports/discharges.png?{PERIOD}").data == png
    report_cache(app).ttl_seconds = 0  # as if the minute had passed
    fresh = hospital_client.get(f"/reports/discharges.csv?{PERIOD}").get_data(as_text=True)
    assert fresh.splitlines()[-1].startswith("total,0,")
    assert hospital_client.get(f"/reports/discharges.png?{PERIOD}").data != png
