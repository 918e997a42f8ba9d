"""Result alerts on the board: HL7 orders and results for an admitted patient raise the
"not done" / "not acknowledged" alerts, a doctor acknowledges through the API and the alert
clears on the board and in the push. SQLite and PostgreSQL, the services' clock frozen."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.board_socket import BoardSocket
from tests.hl7_builder import ack_code
from tests.integration.test_clinical_actions import (
    ADMITTED,
    DOCTOR,
    NURSE,
    SignedOnClients,
    admit,
    board,
)
from whiteboard.auth.audit_model import AuditEntry
from whiteboard.models import Order, Result

PID = "PID|1||RM3000001^^^WGH^MR~9990000018^^^NHS^NH||JONES^John||19580312|M"
CONSULTANT = {"X-Wardboard-Actor": "CONS01", "X-Wardboard-Role": "consultant"}
_ids = itertools.count(1)


def hl7(kind: str, at: str, *segments: str, sender: str = "EPR|WGH") -> bytes:
    app, facility = sender.split("|")
    msh = f"MSH|^~\\&|{app}|{facility}|WARDBOARD|WGH|{at}||{kind}|RA{next(_ids):06d}|P|2.5.1"
    return ("\r".join([msh, PID, *segments]) + "\r").encode()


def order(placer: str, at: str, service: str, *, priority: str = "", section: str = "") -> bytes:
    """ORM^O01 NW placed at ``at`` (local time); ORC-7.6 priority, OBR-24 section."""
    orc = ["ORC", "NW", placer, "", "", "", "", f"^^^^^{priority}" if priority else ""]
    obr = ["OBR", "1", placer, "", service, *[""] * 19, section]
    return hl7("ORM^O01^ORM_O01", at, "|".join(orc), "|".join(obr))


def result(placer: str, at: str, service: str, status: str = "F", flag: str = "N") -> bytes:
    """ORU^R01 reported at ``at`` (OBR-22) with one OBX flagged ``flag`` (OBX-8)."""
    obr = ["OBR", "1", placer, f"F{placer}", service, *[""] * 17, at, "", "", status]
    obx = f"OBX|1|NM|718-7^Haemoglobin^LN||61|g/L|130-170|{flag}|||{status}"
    return hl7("ORU^R01^ORU_R01", at, "|".join(obr), obx, sender="LAB|WGH")


def wait_for_board(screen: BoardSocket, stay: int, has_alert: bool) -> dict:
    """The next pushed snapshot whose result alert is (or is not) there: the publisher may
    push more than once for one transaction's events, each time with the committed state."""
    return screen.wait_for(lambda snapshot: (result_alert(snapshot, stay) is not None) == has_alert)


def send(services, raw: bytes) -> None:
    assert ack_code(services.pipeline.receive(raw, "test")) == "AA"


def result_alert(snapshot: dict, stay: int) -> dict | None:
    [patient] = [p for p in snapshot["patients"] if p["key"] == f"s-{stay}"]
    found = [a for a in patient["alerts"] if a["code"] == "result"]
    assert len(found) <= 1
    return found[0] if found else None


def result_id(services, placer: str) -> int:
    with services.read_session() as s:
        return s.scalars(
            select(Result.id).where(Result.placer_order_number == placer).order_by(Result.id)
        ).all()[-1]


@pytest.fixture
def client(app, make_staff):
    return SignedOnClients(app, make_staff)


@pytest.fixture
def clock(services):
    services.clock.freeze(ADMITTED + timedelta(minutes=45))
    return services.clock


def test_routine_result_turns_red_unacknowledged_and_a_doctor_clears_it(services, client, clock):
    stay = admit(services)  # 09:15 on AMU
    send(services, order("ORD1", "20261122093000", "FBC^Full blood count^LN"))
    with services.read_session() as s:
        o = s.scalars(select(Order).where(Order.placer_order_number == "ORD1")).one()
        assert (o.kind, o.modality, o.priority) == ("lab", None, "routine")
    send(services, result("ORD1", "20261122110000", "FBC^Full blood count^LN", flag="L"))
    clock.freeze(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    assert result_alert(board(client), stay) is None  # within the 24 h to acknowledge
    with services.read_session() as s:
        assert s.get(Result, result_id(services, "ORD1")).result_urgency == "abnormal"

    clock.freeze(datetime(2026, 11, 23, 11, 1, tzinfo=UTC))
    alert = result_alert(board(client), stay)
    assert alert["level"] == "red"
    assert alert["label"] == "Lab not acknowledged"
    rid = result_id(services, "ORD1")
    assert alert["ref"] == f"result-{rid}"

    response = client.post(f"/api/v1/results/{rid}/acknowledge", headers=DOCTOR)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"id": rid}
    assert result_alert(board(client), stay) is None
    [listed] = client.get(f"/api/v1/stays/{stay}", headers=NURSE).get_json()["orders"]
    assert listed["ref"] == f"result-{rid}"
    assert listed["description"] == "Full blood count"
    assert listed["acknowledged_at"] == clock.now().isoformat()
    with services.read_session() as s:
        row = s.get(Result, rid)
        assert row.acknowledged_by == DOCTOR["X-Wardboard-Actor"]
        assert row.acknowledged_at == clock.now()
        [entry] = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "record.ResultAcknowledged")
        ).all()
    assert (entry.actor, entry.actor_role, entry.patient_id) == (
        "C1234567",
        "doctor",
        row.patient_id,
    )
    assert json.loads(entry.detail) == {"result_id": rid}
    assert services.audit.verify().ok

    again = client.post(f"/api/v1/results/{rid}/acknowledge", headers=DOCTOR)
    assert again.status_code == 409
    assert again.get_json()["rule"] == "already-acknowledged"
    assert "C1234567" in again.get_json()["detail"]


def test_critical_imaging_escalates_at_once_and_a_consultant_may_acknowledge(
    services, client, clock
):
    stay = admit(services)
    send(
        services,
        order("XR1", "20261122093000", "XCHES^Chest X-ray^L", priority="S", section="RAD"),
    )
    with services.read_session() as s:
        o = s.scalars(select(Order).where(Order.placer_order_number == "XR1")).one()
        assert (o.kind, o.priority) == ("imaging", "critical")
    clock.freeze(datetime(2026, 11, 22, 10, 31, tzinfo=UTC))  # stat: performed within 1 h
    alert = result_alert(board(client), stay)
    assert (alert["level"], alert["label"]) == ("red", "Imaging not done")

    send(services, result("XR1", "20261122104500", "XCHES^Chest X-ray^L", flag="HH"))
    alert = result_alert(board(client), stay)
    assert (alert["level"], alert["label"]) == ("red", "Imaging to review")
    assert "Critical result not acknowledged" in alert["detail"]

    rid = result_id(services, "XR1")
    assert client.post(f"/api/v1/results/{rid}/acknowledge", headers=CONSULTANT).status_code == 200
    assert result_alert(board(client), stay) is None


def test_a_radiograph_is_named_and_a_corrected_report_needs_acknowledging_again(
    services, client, clock
):
    stay = admit(services)
    send(services, order("XR2", "20261122093000", "XRCHE^Chest X-ray^L", priority="A"))
    with services.read_session() as s:
        o = s.scalars(select(Order).where(Order.placer_order_number == "XR2")).one()
        assert (o.kind, o.modality, o.priority) == ("imaging", "XR", "urgent")
    send(services, result("XR2", "20261122110000", "XRCHE^Chest X-ray^L"))
    alert = result_alert(board(client), stay)  # urgent order: at once
    assert alert["label"] == "X-ray to review"
    first = result_id(services, "XR2")
    assert client.post(f"/api/v1/results/{first}/acknowledge", headers=DOCTOR).status_code == 200
    assert result_alert(board(client), stay) is None

    send(services, result("XR2", "20261122113000", "XRCHE^Chest X-ray^L", status="C"))
    corrected = result_id(services, "XR2")
    assert corrected != first
    assert result_alert(board(client), stay)["ref"] == f"result-{corrected}"


def test_orders_before_the_admission_or_cancelled_do_not_show(services, client, clock):
    send(services, order("OLD1", "20261122080000", "UE^Urea and electrolytes^LN"))
    stay = admit(services)  # admitted 09:15, after the order
    send(services, result("OLD1", "20261122093000", "UE^Urea and electrolytes^LN", flag="LL"))
    send(services, order("CAN1", "20261122093000", "CRP^C-reactive protein^LN", priority="S"))
    cancel = order("CAN1", "20261122093100", "CRP^C-reactive protein^LN").replace(
        b"ORC|NW|", b"ORC|CA|"
    )
    send(services, cancel)
    clock.freeze(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    assert result_alert(board(client), stay) is None
    # The old result is still there to acknowledge from the patient's record.
    rid = result_id(services, "OLD1")
    assert client.post(f"/api/v1/results/{rid}/acknowledge", headers=DOCTOR).status_code == 200


def test_who_may_acknowledge_and_bad_requests(services, client, clock):
    admit(services)
    send(services, order("ORD9", "20261122093000", "FBC^Full blood count^LN"))
    send(services, result("ORD9", "20261122100000", "FBC^Full blood count^LN", status="P"))
    rid = result_id(services, "ORD9")
    path = f"/api/v1/results/{rid}/acknowledge"

    assert client.post(path).status_code == 401  # nobody signed on
    nurse = client.post(path, headers=NURSE)
    assert nurse.status_code == 403
    preliminary = client.post(path, headers=DOCTOR)
    assert preliminary.status_code == 409
    assert preliminary.get_json()["rule"] == "result-not-final"
    missing = client.post("/api/v1/results/999999/acknowledge", headers=DOCTOR)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("application/problem+json")
    bad = client.post(path, json={"acknowledged_at": "2026-11-21T09:00:00+00:00"}, headers=DOCTOR)
    assert bad.status_code == 422
    assert client.post(path, json=[1], headers=DOCTOR).status_code == 422
    with services.read_session() as s:
        assert s.get(Result, rid).acknowledged_at is None  # nothing half-written
        assert not s.scalars(
            select(AuditEntry).where(AuditEntry.action == "record.ResultAcknowledged")
        ).all()


def test_result_and_acknowledgement_are_pushed_to_the_board(
    services, live_server, staff_token, client, clock
):
    stay = admit(services)
    send(services, order("ORDP", "20261122093000", "K^Potassium^LN"))
    with BoardSocket(live_server.url, {"signon": staff_token}) as screen:
        assert result_alert(screen.join("AMU")["snapshot"], stay) is None

        send(services, result("ORDP", "20261122100000", "K^Potassium^LN", flag="HH"))
        pushed = wait_for_board(screen, stay, has_alert=True)
        assert result_alert(pushed, stay)["level"] == "red"

        rid = result_id(services, "ORDP")
        assert client.post(f"/api/v1/results/{rid}/acknowledge", headers=DOCTOR).status_code == 200
        wait_for_board(screen, stay, has_alert=False)
