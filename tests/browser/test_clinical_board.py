"""Clinical alerts on a real board in Chromium, with the server's clock and the browser's clock
both under the test's control (Playwright's ``page.clock``; the server's ``Services.clock``,
which also dates HTTP responses, so the board's clock correction agrees)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from integration.mllp.client import MllpClient
from tests.hl7_builder import ack_code, adt

pytestmark = pytest.mark.browser

ARRIVED = datetime(2026, 11, 22, 9, 15, tzinfo=UTC)  # adt()'s default admit time (GMT)


def _until(page, check, *, seconds: float = 15.0, tick_ms: int = 1000) -> None:
    """Let the page's (fake) clock run a second at a time until ``check()`` holds."""
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            raise AssertionError("the board did not reach the expected state")
        page.clock.run_for(tick_ms)
        time.sleep(0.1)


def _send(server, message: bytes) -> None:
    with MllpClient("127.0.0.1", server.mllp.port) as mllp:
        assert ack_code(mllp.send(message)) == "AA"


def _signed_on_context(browser, server, role: str, username: str, **context_args):
    """A browser context signed on through the sign-on page; returns (context, page, csrf)."""
    from tests.auth_helpers import StaffMaker, sign_on_page

    user = StaffMaker(server.services)(role, username=username)
    context = browser.new_context(**context_args)
    page = context.new_page()
    sign_on_page(page, server.url, user)
    csrf = page.locator("[data-csrf]").first.get_attribute("data-csrf")
    return context, page, csrf


def test_an_a_and_e_patient_turns_red_then_purple_as_time_passes(page, sqlite_live_server):
    """The A&E wall board (a kiosk: no staff session whose idle lock the hours would trip)."""
    from tests.auth_helpers import kiosk_maker

    server = sqlite_live_server
    token = kiosk_maker(server.services)("AE")
    clock = server.services.clock
    clock.freeze(ARRIVED + timedelta(minutes=1))
    _send(server, adt("A04", patient_class="E", location="AE^MAJ^M1", visit="E1"))
    page.clock.install(time=ARRIVED + timedelta(minutes=1))
    page.goto(f"{server.url}/wards/AE?kiosk={token}")
    row = page.locator("[data-patient-key]").first
    _until(page, lambda: row.count() == 1 and row.get_attribute("data-wait-level") == "ok")
    assert page.locator("[data-alert='ae_4h']").count() == 0

    clock.freeze(ARRIVED + timedelta(hours=3, minutes=1))
    page.clock.fast_forward("03:00:00")
    _until(page, lambda: row.get_attribute("data-wait-level") == "warn")
    server.services.publisher.repush_changed_alerts()  # what the minute job does
    red = page.locator("[data-alert='ae_4h'][data-level='red']")
    _until(page, lambda: red.count() == 1)

    clock.freeze(ARRIVED + timedelta(hours=4, minutes=2))
    page.clock.fast_forward("01:01:00")
    _until(page, lambda: row.get_attribute("data-wait-level") == "breach")
    server.services.publisher.repush_changed_alerts()
    purple = page.locator("[data-alert='ae_4h'][data-level='purple']")
    _until(page, lambda: purple.count() == 1)
    assert "BREACH" in row.inner_text()


def test_recording_vte_on_one_screen_clears_the_alert_on_another(
    browser, signed_on_page, sqlite_live_server
):
    server = sqlite_live_server
    page = signed_on_page
    server.services.clock.freeze(ARRIVED + timedelta(hours=15))  # VTE assessment overdue
    _send(server, adt("A01", location="AMU^A^A1"))
    page.goto(f"{server.url}/wards/AMU")
    vte = page.locator("[data-alert='vte'][data-level='red']")
    vte.wait_for(timeout=10_000)
    page.evaluate("window.__sameDocument = true")
    key = page.locator("[data-patient-key]").first.get_attribute("data-patient-key")
    stay_id = key.removeprefix("s-")

    other, _page, csrf = _signed_on_context(browser, server, "nurse", "N0001")
    try:
        response = other.request.post(
            f"{server.url}/api/v1/stays/{stay_id}/vte-assessments",
            data={"outcome": "low risk"},
            headers={"X-CSRFToken": csrf},
        )
        assert response.status == 201, response.text()
    finally:
        other.close()
    page.wait_for_selector("[data-alert='vte']", state="detached", timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True


def test_staff_patient_panel_records_actions_and_shows_the_gating_reason(
    browser, sqlite_live_server
):
    server = sqlite_live_server
    server.services.clock.freeze(ARRIVED + timedelta(hours=15))
    _send(server, adt("A01", location="AMU^A^A1"))
    context, page, _csrf = _signed_on_context(
        browser, server, "doctor", "C1234567", viewport={"width": 1920, "height": 1080}
    )
    try:
        page.goto(f"{server.url}/wards/AMU")
        page.locator("[data-alert='vte'][data-level='red']").first.wait_for(timeout=10_000)
        page.locator("[data-patient-key]").first.click()
        panel = page.locator("#patient-panel")
        panel.locator("form[data-action='vte']").wait_for()
        panel.locator("form[data-action='referral'] button").click()
        message = panel.locator(".panel-message[data-kind='error']")
        message.wait_for(timeout=10_000)
        assert "no EDD" in message.inner_text()

        panel.locator("form[data-action='plan'] input[name='edd']").fill("2026-11-23")
        panel.locator("form[data-action='plan'] button").click()
        panel.locator(".panel-message[data-kind='ok']").wait_for(timeout=10_000)
        page.locator("[data-extra='due-today']").filter(has_text="A1").wait_for(timeout=10_000)

        panel.locator("form[data-action='vte'] button").click()
        page.wait_for_selector("#patients [data-alert='vte']", state="detached", timeout=10_000)
    finally:
        context.close()


def test_the_wall_board_has_no_patient_panel_without_a_signed_in_clinician(
    page, sqlite_live_server
):
    from tests.auth_helpers import kiosk_maker

    token = kiosk_maker(sqlite_live_server.services)("AMU")
    page.goto(f"{sqlite_live_server.url}/wards/AMU?kiosk={token}")
    page.wait_for_selector("#board[data-connected='true']")
    assert page.locator("#patient-panel").count() == 0


def test_a_doctor_acknowledges_a_critical_result_from_the_panel(browser, sqlite_live_server):
    from tests.integration.test_result_alerts import order, result

    server = sqlite_live_server
    server.services.clock.freeze(ARRIVED + timedelta(hours=2))
    _send(server, adt("A01", location="AMU^A^A1"))
    _send(server, order("K1", "20261122093000", "K^Potassium^LN"))
    _send(server, result("K1", "20261122100000", "K^Potassium^LN", flag="HH"))
    context, page, _csrf = _signed_on_context(
        browser, server, "doctor", "C1234567", viewport={"width": 1920, "height": 1080}
    )
    try:
        page.goto(f"{server.url}/wards/AMU")
        page.locator("#patients [data-alert='result']").first.wait_for(timeout=10_000)
        page.locator("[data-patient-key]").first.click()
        panel = page.locator("#patient-panel")
        button = panel.locator("form[data-action^='ack-'] button")
        button.wait_for(timeout=10_000)
        assert "Potassium" in button.inner_text()
        button.click()
        panel.locator(".panel-message[data-kind='ok']").wait_for(timeout=10_000)
        page.wait_for_selector("#patients [data-alert='result']", state="detached", timeout=10_000)
    finally:
        context.close()
