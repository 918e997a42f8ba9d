"""A manager's report page in Chromium: the chart image loads and the tables show."""

from __future__ import annotations

import time

import pytest

from config.app import app_services
from tests.auth_helpers import StaffMaker, sign_on_page
from tests.reports_fixture import build_hospital

pytestmark = pytest.mark.browser


def test_ae_report_page_shows_chart_and_tables(sqlite_live_server, page):
    services = app_services(sqlite_live_server.app)
    with services.uow_factory() as uow:
        build_hospital(uow.session, with_vte_table=False)
        uow.commit()
    manager = StaffMaker(services)("manager")
    sign_on_page(page, sqlite_live_server.url, manager)
    page.goto(f"{sqlite_live_server.url}/reports/ae?from=2026-10-24&to=2026-10-26")
    chart = page.locator("img.chart")
    chart.wait_for()
    # Poll with evaluate: the Content-Security-Policy forbids wait_for_function's eval.
    deadline = time.monotonic() + 15
    while not page.evaluate("document.querySelector('img.chart').complete"):
        assert time.monotonic() < deadline, "the chart image never loaded"
        time.sleep(0.1)
    assert page.evaluate("document.querySelector('img.chart').naturalWidth") > 300
    by_day = page.locator("#by_day table tbody tr")
    assert by_day.count() == 3
    assert by_day.nth(1).locator("td").nth(1).inner_text() == "3"
    csv_link = page.locator("#by_day a.csv")
    assert "table=by_day" in csv_link.get_attribute("href")
