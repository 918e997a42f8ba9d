"""The HL7 monitor page: find a message by MSH-10, see raw, parsed and the ACK; replay."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from config.layout import Layout, WardSpec, apply_layout
from tests.auth_helpers import StaffMaker, sign_on_page
from tests.hl7_builder import adt

pytestmark = pytest.mark.browser


def test_search_show_and_replay(page, sqlite_live_server):
    services = sqlite_live_server.services
    services.pipeline.receive(adt("A01", control_id="MON-OK", family="<b>BOLD</b>"), "t")
    services.pipeline.receive(adt("A01", control_id="MON-BAD", location="LATER^^"), "t")

    admin = StaffMaker(services)("admin")
    sign_on_page(page, sqlite_live_server.url, admin)
    page.goto(f"{sqlite_live_server.url}/hl7/monitor")
    page.fill("input[name=control_id]", "MON-OK")
    page.click("button[type=submit]")
    # The unfiltered list may still be showing: wait for the search's answer, one row.
    expect(page.locator("#messages tbody tr")).to_have_count(1)
    page.click("#messages tbody tr")
    page.wait_for_selector("#detail:not([hidden])")
    assert "<b>BOLD</b>" in page.locator("#raw").inner_text()  # shown as text, not markup
    assert "MSA|AA|MON-OK" in page.locator("#ack").inner_text()
    assert page.locator("#parsed td", has_text="PID-5").count() == 1

    with services.uow_factory() as uow:
        apply_layout(uow.session, Layout("x", (WardSpec("LATER", "L", "ward", "", ()),), (), ()))
        uow.commit()
    page.click("#errors")
    page.wait_for_selector("#messages tbody tr.state-failed")
    page.click("#messages tbody tr.state-failed")
    page.click("#replay")
    page.wait_for_selector("#replay-result:has-text('AA')")
    assert "applied" in page.locator("#detail-title").inner_text()
