"""What a person sees: the board shows a newly admitted patient without a reload."""

from __future__ import annotations

import threading

import pytest

from integration.mllp.client import MllpClient
from tests.hl7_builder import ack_code, adt

pytestmark = pytest.mark.browser


def test_board_shows_new_admission_without_reload(signed_on_page, sqlite_live_server, tmp_path):
    page = signed_on_page
    page.goto(f"{sqlite_live_server.url}/wards/AMU")
    page.wait_for_selector("#board[data-connected='true']")
    page.wait_for_selector("[data-bed='A3'][data-status='U']")  # the snapshot has arrived
    assert page.locator("[data-patient-key]").count() == 0
    page.evaluate("window.__sameDocument = true")  # proves no reload happened

    with MllpClient("127.0.0.1", sqlite_live_server.mllp.port) as mllp:
        ack = mllp.send(
            adt("A01", family="<script>window.pwned=1</script>", given="Siân", location="AMU^A^A3")
        )
    assert ack_code(ack) == "AA"

    row = page.locator("[data-patient-key]")
    row.first.wait_for(timeout=10_000)
    assert "<SCRIPT>WINDOW.PWNED=1</SCRIPT>" in row.first.inner_text()  # shown as text
    assert page.evaluate("window.pwned") is None  # and never run
    assert page.evaluate("window.__sameDocument") is True
    tile = page.locator("[data-bed='A3']")
    assert tile.get_attribute("data-status") == "O"
    page.screenshot(path=str(tmp_path / "board.png"))


def test_board_reconnects_after_losing_the_connection(signed_on_page, sqlite_live_server):
    page = signed_on_page
    page.goto(f"{sqlite_live_server.url}/wards/AMU")
    page.wait_for_selector("#board[data-connected='true']")
    # Drop every engine.io connection from the server side, as a flaky network would.
    from whiteboard.web.socket import socketio

    # engine.io's disconnect waits for the socket's send queue to drain, which never happens
    # if a polling client is between requests: drop them from a side thread, never wait.
    eio = socketio.server.eio
    for sid in list(eio.sockets):
        threading.Thread(target=eio.disconnect, args=(sid,), daemon=True).start()
    page.wait_for_selector("#board[data-connected='false']", timeout=10_000)
    with MllpClient("127.0.0.1", sqlite_live_server.mllp.port) as mllp:
        mllp.send(adt("A01", family="MISSED", location="AMU^A^A4"))
    page.wait_for_selector("[data-patient-key]", timeout=15_000)
    assert "MISSED" in page.locator("[data-patient-key]").first.inner_text()
    assert page.locator("#board").get_attribute("data-connected") == "true"


def test_index_lists_wards_with_links(signed_on_page, sqlite_live_server):
    page = signed_on_page
    page.goto(sqlite_live_server.url)
    page.click("text=Acute Medical Unit")
    page.wait_for_selector("#board[data-ward='AMU']")


def test_leave_of_absence_shows_on_the_board_until_the_return(signed_on_page, sqlite_live_server):
    page = signed_on_page
    page.goto(f"{sqlite_live_server.url}/wards/AMU")
    page.wait_for_selector("#board[data-connected='true']")
    with MllpClient("127.0.0.1", sqlite_live_server.mllp.port) as mllp:
        assert ack_code(mllp.send(adt("A01", family="AWAY", location="AMU^A^A2"))) == "AA"
        page.wait_for_selector("[data-patient-key]", timeout=10_000)
        assert ack_code(mllp.send(adt("A21", family="AWAY", location="AMU^A^A2"))) == "AA"
        row = page.locator("tr.patient[data-on-leave='true']")
        row.wait_for(timeout=10_000)
        text = row.inner_text().upper()  # the pill is styled upper case
        assert "ON LEAVE" in text and "AWAY" in text
        tile = page.locator("[data-bed='A2']")
        assert tile.get_attribute("data-status") == "O"  # the bed is still theirs
        assert "ON LEAVE" in tile.inner_text().upper()
        assert ack_code(mllp.send(adt("A22", family="AWAY", location="AMU^A^A2"))) == "AA"
    page.wait_for_selector("tr.patient[data-on-leave='true']", state="detached", timeout=10_000)
    assert "ON LEAVE" not in page.locator("[data-bed='A2']").inner_text().upper()


def person(trigger: str, n: int, family: str, location: str) -> bytes:
    """An ADT message for the n-th of several different people."""
    return adt(
        trigger, hospital_number=f"RM900000{n}", nhs_number=None, family=family,
        given=("Ann", "Bea", "Cat")[n - 1], dob=f"19{60 + n}0{n}1{n}", sex="F",
        visit=f"VP{n}", location=location,
    )  # fmt: skip


def test_pushes_after_the_first_are_patches_that_keep_the_board_right(
    signed_on_page, sqlite_live_server
):
    page = signed_on_page
    page.goto(f"{sqlite_live_server.url}/wards/AMU")
    page.wait_for_selector("#board[data-connected='true']")
    publisher = sqlite_live_server.services.publisher
    with MllpClient("127.0.0.1", sqlite_live_server.mllp.port) as mllp:
        for n, family, bed in ((1, "PATCHONE", "A1"), (2, "PATCHTWO", "A2")):
            assert ack_code(mllp.send(person("A01", n, family, f"AMU^A^{bed}"))) == "AA"
            page.wait_for_selector(f"tr.patient:has-text('{family}')", timeout=10_000)
        assert "full" in publisher.chain.last("AMU", ("full",)).views  # later pushes: patches
        assert ack_code(mllp.send(person("A03", 1, "PATCHONE", "AMU^A^A1"))) == "AA"
        page.wait_for_selector("tr.patient:has-text('PATCHONE')", state="detached", timeout=10_000)
        assert page.locator("[data-bed='A1']").get_attribute("data-status") != "O"
        assert page.locator("#board").get_attribute("data-resyncs") is None

        # A patch made against a snapshot this screen never had: it fetches the whole board.
        last = publisher.chain.last("AMU", ("full",)).views["full"]
        publisher.chain.remember("AMU", {"full": {**last, "digest": "not-this-one"}})
        assert ack_code(mllp.send(person("A01", 3, "PATCHTHREE", "AMU^A^A4"))) == "AA"
        page.wait_for_selector("#board[data-resyncs='1']", timeout=10_000)
        page.wait_for_selector("tr.patient:has-text('PATCHTHREE')", timeout=10_000)
    assert page.locator("tr.patient:has-text('PATCHTWO')").count() == 1
