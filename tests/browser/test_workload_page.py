"""In Chromium: a nurse in charge allocates a nurse to a bay on the form, then a manager sees
that nurse's row (with the patient in the bay) on the workload page, whose chart loads."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from config.app import app_services
from tests.auth_helpers import StaffMaker, sign_on_page
from tests.hl7_builder import ack_code, adt

pytestmark = pytest.mark.browser


def test_manager_sees_a_nurses_row_after_the_allocation(sqlite_live_server, browser):
    services = app_services(sqlite_live_server.app)
    # 10:00 GMT: the day shift, whatever time the test runs.
    services.clock.freeze(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    assert ack_code(services.pipeline.receive(adt(location="AMU^A^A1"), "test")) == "AA"
    make = StaffMaker(services)
    in_charge, amy, manager = make("nurse"), make("nurse", username="rn_amy"), make("manager")
    base = sqlite_live_server.url

    ward = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_on_page(ward, base, in_charge)
    ward.goto(f"{base}/wards/AMU/allocation")
    assert "Day shift Sun 22 Nov 2026" in ward.locator("#shift-label").inner_text()
    ward.get_by_label("Nurse in charge").select_option(in_charge.username)
    ward.get_by_label("Bay A").select_option("rn_amy")
    ward.get_by_role("button", name="Save allocation").focus()
    ward.keyboard.press("Enter")
    ward.locator("#allocation-saved").wait_for()
    assert ward.get_by_label("Bay A").input_value() == "rn_amy"
    ward.context.close()

    office = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_on_page(office, base, manager)
    office.goto(f"{base}/workload")
    row = office.locator('#nurse-table tr[data-person="rn_amy"]')
    row.wait_for()
    cells = row.locator("th, td")
    assert cells.nth(0).inner_text() == "Nurse " + amy.card[2:]  # the StaffMaker display name
    assert (cells.nth(1).inner_text(), cells.nth(2).inner_text()) == ("AMU", "1")
    assert office.locator('#ward-table tr[data-ward="AMU"] td').nth(2).inner_text() == "1"
    # The nurses' chart is an image the browser can load (polled: the CSP forbids eval).
    selector = "#nurses img.chart"
    deadline = time.monotonic() + 15
    while not office.evaluate(f"document.querySelector('{selector}').complete"):
        assert time.monotonic() < deadline, "the chart image never loaded"
        time.sleep(0.1)
    assert office.evaluate(f"document.querySelector('{selector}').naturalWidth") > 300
    office.context.close()
