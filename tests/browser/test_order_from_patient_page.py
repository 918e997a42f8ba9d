"""Chromium: a signed-on doctor orders a chest x-ray from the patient page and sees it listed;
a nurse's page has no order form."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from integration.mllp.client import MllpClient
from mpi.models import Patient
from tests.auth_helpers import StaffMaker
from tests.hl7_builder import ack_code, adt
from whiteboard.auth.audit_model import AuditEntry
from whiteboard.models import Order

pytestmark = pytest.mark.browser


def sign_on(page, url: str, user) -> None:
    page.goto(f"{url}/signon")
    page.fill("#card", user.card)
    page.press("#card", "Enter")
    page.keyboard.type(user.pin)
    page.press("#pin", "Enter")
    page.wait_for_url(f"{url}/")


def test_a_doctor_orders_an_xray_from_the_patient_page(page, sqlite_live_server):
    server = sqlite_live_server
    with MllpClient("127.0.0.1", server.mllp.port) as client:
        assert ack_code(client.send(adt("A01"))) == "AA"
    services = server.services
    with services.read_session() as s:
        patient_id = s.scalars(select(Patient.id)).one()
    doctor = StaffMaker(services)("doctor")
    sign_on(page, server.url, doctor)

    page.goto(f"{server.url}/patients/{patient_id}")
    assert page.locator("#orders").inner_text().strip() == "None."
    page.select_option("#order-test", "XRCHE")
    page.select_option("#order-priority", "urgent")
    page.click("#order-form button[type=submit]")
    page.wait_for_selector("#orders tr[data-order-id]")

    assert page.locator("#order-message").inner_text() == "Ordered: Chest X-ray (imaging)"
    row = page.locator("#orders tr[data-order-id]").inner_text()
    assert "Chest X-ray" in row and "urgent" in row and "ordered" in row
    assert doctor.username in row
    with services.read_session() as s:
        order = s.scalars(select(Order)).one()
        assert (order.service_code, order.kind, order.status, order.ordered_by) == (
            "XRCHE",
            "imaging",
            "ordered",
            doctor.username,
        )
        assert s.scalars(
            select(AuditEntry.actor).where(AuditEntry.action == "record.OrderPlaced")
        ).all() == [doctor.username]

    # Listed on a fresh load too (the record, not just the script's redraw).
    page.reload()
    assert "Chest X-ray" in page.locator(f"#orders tr[data-order-id='{order.id}']").inner_text()


def test_a_refusal_shows_the_servers_reason_and_a_nurse_has_no_form(page, sqlite_live_server):
    server = sqlite_live_server
    with MllpClient("127.0.0.1", server.mllp.port) as client:
        assert ack_code(client.send(adt("A01"))) == "AA"
    services = server.services
    with services.read_session() as s:
        patient_id = s.scalars(select(Patient.id)).one()
    doctor = StaffMaker(services)("doctor")
    sign_on(page, server.url, doctor)
    page.goto(f"{server.url}/patients/{patient_id}")
    # A test the catalogue no longer offers (e.g. a stale page): the problem body's detail.
    page.evaluate("document.querySelector('#order-test').add(new Option('Gone', 'GONE'))")
    page.select_option("#order-test", "GONE")
    page.click("#order-form button[type=submit]")
    # A locator assertion polls from Playwright's side: the page's Content-Security-Policy
    # forbids the eval that wait_for_function needs once it has to poll.
    expect(page.locator("#order-message")).to_contain_text("not orderable")
    assert page.locator("#order-message").get_attribute("data-kind") == "error"

    page.context.clear_cookies()
    nurse = StaffMaker(services)("nurse")
    sign_on(page, server.url, nurse)
    page.goto(f"{server.url}/patients/{patient_id}")
    assert page.locator("#patient-name").is_visible()
    assert page.locator("#order-form").count() == 0
