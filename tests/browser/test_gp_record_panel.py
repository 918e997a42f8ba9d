"""Chromium: a signed-on doctor sees the GP record panel once the practice shares, not before."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from integration.mllp.client import MllpClient
from mpi.models import Patient
from tests.auth_helpers import StaffMaker
from tests.hl7_builder import ack_code
from whiteboard.auth.audit_model import AuditEntry
from whiteboard.gp_commands import AuthoriseGpSharing

pytestmark = pytest.mark.browser

SYNOPSIS = (
    "\r".join(
        [
            "MSH|^~\\&|EMIS|Y01234|WARDBOARD|WGH|20261201090000||ADT^A31^ADT_A05|BSYN1|P|2.5.1",
            "EVN|A31|20261201090000",
            "PID|1||G1001^^^GP:Y01234^PI~9990000018^^^NHS^NH||JONES^John||19580312|M",
            "PD1|||Manor Surgery^^^^^^^^^Y01234",
            "PV1|1|N",
            "OBX|1|CWE|10160-0^History of medication use^LN|1|^Amlodipine 5mg tablets^DMD"
            "||||||F|||20240115",
            "OBX|2|ST|DOSE^Dose^L|1|5 mg once a day||||||F",
            "AL1|1|DA|91936005^Penicillin^SCT|SV|Anaphylaxis",
            "DG1|1||22298006^Myocardial infarction^SCT||20200301|F",
        ]
    )
    + "\r"
)


def test_doctor_sees_the_gp_record_panel_only_once_the_practice_shares(page, sqlite_live_server):
    server = sqlite_live_server
    with MllpClient("127.0.0.1", server.mllp.port) as client:
        assert ack_code(client.send(SYNOPSIS.encode())) == "AA"
    services = server.services
    with services.read_session() as s:
        patient_id = s.scalars(select(Patient.id)).one()
    doctor = StaffMaker(services)("doctor")

    page.goto(f"{server.url}/signon")
    page.fill("#card", doctor.card)
    page.press("#card", "Enter")
    page.keyboard.type(doctor.pin)
    page.press("#pin", "Enter")
    page.wait_for_url(f"{server.url}/")

    page.goto(f"{server.url}/patients/{patient_id}")
    panel = page.locator("#gp-record")
    assert panel.get_attribute("data-status") == "not_shared"
    assert "Not shared by practice Y01234" in page.locator("#gp-record-message").inner_text()
    assert page.locator("#gp-allergies").count() == 0

    services.bus.handle(
        AuthoriseGpSharing(
            services.clock.now(), practice="Y01234", authorised_by="Dr Patel", recorded_by="admin"
        )
    )
    page.reload()
    assert panel.get_attribute("data-status") == "shown"
    assert panel.is_visible()
    allergies = page.locator("#gp-allergies").inner_text()
    assert "Penicillin" in allergies and "Anaphylaxis" in allergies and "severe" in allergies
    medications = page.locator("#gp-medications").inner_text()
    assert "Amlodipine 5mg tablets" in medications and "5 mg once a day" in medications
    assert "Myocardial infarction" in page.locator("#gp-events").inner_text()
    with services.read_session() as s:
        views = s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "gp_synopsis.view")
            .where(AuditEntry.patient_id == patient_id)
            .where(AuditEntry.actor == doctor.username)
        )
    assert views == 1
