"""Chromium: card reader sign-on, card out blanks the screen at once, idle lock, kiosk privacy."""

from __future__ import annotations

import json
import urllib.request

import pytest

from config.app import app_services, create_app
from config.layout import apply_layout, load_layout
from integration.mllp.client import MllpClient
from tests.conftest import LiveServer, _make_settings
from tests.hl7_builder import ack_code, adt
from whiteboard.auth import accounts

pytestmark = pytest.mark.browser


def _reader(server, name, secret, body):  # type: ignore[no-untyped-def]
    request = urllib.request.Request(
        f"{server.url}/api/v1/card-reader",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Workstation {name}:{secret}",
        },
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def test_removing_the_card_blanks_the_open_board_without_a_reload(
    signed_on_page, sqlite_live_server, staff_user
):
    page = signed_on_page
    with sqlite_live_server.services.uow_factory() as uow:
        _ws, secret = accounts.add_workstation(uow.session, "ward-pc-1")
        uow.commit()
    page.goto(f"{sqlite_live_server.url}/wards/AMU")
    page.wait_for_selector("#board[data-connected='true']")
    page.wait_for_selector("[data-bed='A3']")
    page.evaluate("window.__sameDocument = true")

    body = _reader(
        sqlite_live_server, "ward-pc-1", secret, {"event": "removed", "card": staff_user.card}
    )
    assert body == {"ended": 1}

    page.wait_for_selector("#session-locked[data-reason='card_removed']", timeout=10_000)
    assert page.locator("#board").count() == 0  # nothing of the board is left on screen
    assert page.locator("[data-patient-key]").count() == 0
    assert page.evaluate("window.__sameDocument") is True  # blanked in place, no reload
    page.goto(f"{sqlite_live_server.url}/wards/AMU")
    assert "/signon" in page.url  # and the session is over


def test_screen_locks_after_the_idle_time(browser, tmp_path, sqlite_url):
    settings = _make_settings(tmp_path, sqlite_url).replace(idle_lock_seconds=2)
    app = create_app(settings=settings)
    services = app_services(app)
    with services.uow_factory() as uow:
        apply_layout(uow.session, load_layout(settings.layout_file))
        accounts.add_user(uow.session, "idle", "nurse", card_number="777", pin="1234")
        uow.commit()
    server = LiveServer(app)
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{server.url}/signon")
        page.fill("#card", "777")
        page.press("#card", "Enter")
        page.keyboard.type("1234")
        page.press("#pin", "Enter")
        page.wait_for_url(f"{server.url}/")
        page.wait_for_selector("#session-locked[data-reason='idle']", timeout=15_000)
        page.goto(f"{server.url}/")
        assert "/signon" in page.url
    finally:
        context.close()
        server.stop()
        services.stop()


def test_kiosk_board_is_private_and_escapes_hostile_names(page, sqlite_live_server):
    with sqlite_live_server.services.uow_factory() as uow:
        _k, token = accounts.add_kiosk(uow.session, "AMU")
        uow.commit()
    page.goto(f"{sqlite_live_server.url}/wards/AMU?kiosk={token}")
    assert "kiosk=" not in page.url  # the token left the address bar
    page.wait_for_selector("#board[data-connected='true']")
    page.wait_for_selector("[data-bed='A3'][data-status='U']")
    with MllpClient("127.0.0.1", sqlite_live_server.mllp.port) as mllp:
        ack = mllp.send(
            adt(
                "A01",
                family="<img src=x onerror=window.pwned=1>",
                given="Siân",
                location="AMU^A^A3",
            )
        )
    assert ack_code(ack) == "AA"
    row = page.locator("[data-patient-key]").first
    row.wait_for(timeout=10_000)
    text = row.inner_text()
    assert "<IMG SRC=X ONERROR=WINDOW.PWNED=1>, S" in text  # shown as text, surname + initial
    assert "Siân" not in text and "999" not in text  # no forename, no NHS number
    assert page.evaluate("window.pwned") is None
    assert page.locator("#staff-bar, #wardboard-session").count() == 0  # no staff session
