"""A clinician orders a blood test or x-ray through the API: the same PlaceOrder an HL7 ORM
makes, stored as ordered, an ORM queued to the department's outbound route (and delivered to a
real MLLP listener), audited as that clinician, tracked on the board; other roles are refused.
SQLite and PostgreSQL, the services' clock frozen."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from integration.hl7.reader import MessageReader
from integration.outbound.queue import OutboundMessage, OutboundSender
from tests.board_socket import BoardSocket
from tests.integration.test_clinical_actions import (
    ADMITTED,
    DOCTOR,
    MANAGER,
    NURSE,
    SignedOnClients,
    admit,
    board,
)
from tests.integration.test_outbound import Downstream
from tests.integration.test_result_alerts import result, result_alert, send
from whiteboard.auth.audit_model import AuditEntry
from whiteboard.models import Order, Stay

CONSULTANT = {"X-Wardboard-Actor": "CONS01", "X-Wardboard-Role": "consultant"}
CLERK = {"X-Wardboard-Actor": "R0001", "X-Wardboard-Role": "records_clerk"}


@pytest.fixture
def downstream():
    d = Downstream()
    yield d
    d.server.stop()


@pytest.fixture
def settings(settings, tmp_path: Path, downstream):
    """Lab and radiology as outbound routes: XR codes to RIS, everything else to LAB."""
    dest_file = tmp_path / "destinations.toml"
    port = downstream.server.port
    dest_file.write_text(
        "".join(f'[destinations.{n}]\nhost = "127.0.0.1"\nport = {port}\n' for n in ("LAB", "RIS"))
        + '[order_routes]\ndefault = "LAB"\nprefixes = { XR = "RIS" }\n'
    )
    return settings.replace(hl7_destinations_file=str(dest_file))


@pytest.fixture
def client(app, make_staff):
    return SignedOnClients(app, make_staff)


@pytest.fixture
def clock(services):
    services.clock.freeze(ADMITTED + timedelta(minutes=45))
    return services.clock


def patient_of(services, stay: int) -> int:
    with services.read_session() as s:
        return s.get(Stay, stay).patient_id


def outbound(services) -> list[OutboundMessage]:
    with services.read_session() as s:
        return list(s.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def test_a_doctor_orders_an_xray_and_it_goes_to_radiology_as_an_orm(
    services, client, clock, downstream
):
    stay = admit(services)  # JONES on AMU
    patient = patient_of(services, stay)
    before = {m.id for m in outbound(services)}
    response = client.post(
        f"/api/v1/patients/{patient}/orders",
        json={"test": "XRCHE", "priority": "urgent"},
        headers=DOCTOR,
    )
    assert response.status_code == 201, response.get_json()
    order_id = response.get_json()["id"]

    with services.read_session() as s:
        order = s.get(Order, order_id)
        assert (order.status, order.kind, order.modality, order.priority) == (
            "ordered",
            "imaging",
            "XR",
            "urgent",
        )
        assert (order.patient_id, order.ordered_by, order.source) == (patient, "C1234567", "web")
        assert order.ordered_at == clock.now()
        assert order.placer_system == "WARDBOARD|WARDBOARD"
        assert order.consultant_directed is False  # a doctor, not marked as directed
        placer = order.placer_order_number
        [entry] = s.scalars(select(AuditEntry).where(AuditEntry.action == "record.OrderPlaced"))
    assert (entry.actor, entry.actor_role, entry.patient_id) == ("C1234567", "doctor", patient)
    assert json.loads(entry.detail) == {"order_id": order_id}
    assert services.audit.verify().ok

    # Queued to radiology's route in the same transaction, as an ORM^O01 NW for this patient.
    [queued] = [m for m in outbound(services) if m.id not in before]
    assert (queued.destination, queued.message_type, queued.state) == ("RIS", "ORM", "pending")
    msg = MessageReader(queued.payload.decode())
    assert msg.get("MSH", 9) == "ORM" and msg.get("MSH", 5) == "RIS"
    assert (msg.get("ORC", 1), msg.get("ORC", 2), msg.get("ORC", 12)) == ("NW", placer, "C1234567")
    assert (msg.get("OBR", 4, 1, 1), msg.get("OBR", 4, 1, 2)) == ("XRCHE", "Chest X-ray")
    assert msg.get("ORC", 7, 1, 6) == "A" and msg.get("PV1", 3) == "AMU"
    assert msg.get("PID", 3) == "RM3000001"

    # Delivered over MLLP to the department and acknowledged.
    sender = OutboundSender(services.uow_factory, services.destinations, timeout=5)
    while sender.send_due():
        pass
    [delivered] = [m for m in outbound(services) if m.id == queued.id]
    assert delivered.state == "sent"
    assert any(placer.encode() in raw and b"|RIS|" in raw for raw in downstream.received)

    # Tracked like an HL7 order: in the patient's record and the stay panel, then on the board
    # once the urgent order is not done in 12 h; the department's result reports it.
    record = client.get(f"/api/v1/patients/{patient}", headers=DOCTOR).get_json()
    [listed] = [o for o in record["orders"] if o["id"] == order_id]
    assert (listed["status"], listed["ordered_by"], listed["source"]) == (
        "ordered",
        "C1234567",
        "web",
    )
    panel = client.get(f"/api/v1/stays/{stay}", headers=NURSE).get_json()
    assert [o["ref"] for o in panel["orders"]] == [f"order-{order_id}"]
    assert result_alert(board(client), stay) is None
    clock.advance(timedelta(hours=12, minutes=1))
    alert = result_alert(board(client), stay)
    assert (alert["label"], alert["ref"]) == ("X-ray not done", f"order-{order_id}")

    send(services, result(placer, "20261122230000", "XRCHE^Chest X-ray^L"))
    with services.read_session() as s:
        assert s.get(Order, order_id).status == "reported"
    assert result_alert(board(client), stay)["label"] == "X-ray to review"  # urgent: at once


def test_a_blood_test_goes_to_the_lab_and_a_consultants_order_is_consultant_directed(
    services, client, clock
):
    stay = admit(services)
    patient = patient_of(services, stay)
    response = client.post(
        f"/api/v1/patients/{patient}/orders", json={"test": "fbc"}, headers=CONSULTANT
    )
    assert response.status_code == 201, response.get_json()
    order_id = response.get_json()["id"]
    with services.read_session() as s:
        order = s.get(Order, order_id)
        assert (order.kind, order.priority, order.consultant_directed) == ("lab", "routine", True)
        assert order.service_text == "Full blood count"
    assert [(m.destination, m.message_type) for m in outbound(services)][-1] == ("LAB", "ORM")

    # A doctor acting on a consultant's direction says so.
    directed = client.post(
        f"/api/v1/patients/{patient}/orders",
        json={"test": "CRP", "consultant_directed": True},
        headers=DOCTOR,
    )
    with services.read_session() as s:
        assert s.get(Order, directed.get_json()["id"]).consultant_directed is True

    plain = client.post(f"/api/v1/patients/{patient}/orders", json={"test": "UE"}, headers=DOCTOR)
    ids = {"FBC": order_id, "CRP": directed.get_json()["id"], "UE": plain.get_json()["id"]}
    with services.read_session() as s:
        placers = {code: s.get(Order, i).placer_order_number for code, i in ids.items()}
    # The lab starts each test (a preliminary report: performed, not yet reported).
    for code, placer in placers.items():
        send(services, result(placer, "20261122110000", f"{code}^Test^L", status="P"))

    # Consultant-directed: reported within 24 h of the request (Seven Day Services standard 5);
    # an ordinary lab order has no report deadline, only the consultant-directed two alert.
    clock.advance(timedelta(hours=24, minutes=1))
    [patient_row] = board(client)["patients"]
    alerts = {a["ref"]: a["label"] for a in patient_row["alerts"] if a["code"] == "result"}
    assert alerts == {
        f"order-{ids['FBC']}": "Lab not reported",
        f"order-{ids['CRP']}": "Lab not reported",
    }


def test_who_may_order_and_bad_requests(services, client, clock):
    stay = admit(services)
    patient = patient_of(services, stay)
    path = f"/api/v1/patients/{patient}/orders"
    body = {"test": "FBC"}

    assert client.post(path, json=body).status_code == 401  # nobody signed on
    for who in (NURSE, MANAGER, CLERK):
        refused = client.post(path, json=body, headers=who)
        assert refused.status_code == 403, who
        assert refused.headers["Content-Type"].startswith("application/problem+json")

    for bad, field in (
        ({}, "test is required"),
        ({"test": "MRIHEAD"}, "not orderable"),
        ({"test": "FBC", "priority": "soon"}, "priority must be"),
        ({"test": 7}, "test must be a string"),
        ({"test": "FBC", "placer_order_number": "X1"}, "unexpected field"),
        ({"test": "FBC", "consultant_directed": "yes"}, "must be a boolean"),
    ):
        response = client.post(path, json=bad, headers=DOCTOR)
        assert response.status_code == 422, bad
        assert response.mimetype == "application/problem+json"
        assert field in response.get_json()["detail"], response.get_json()
    missing = client.post("/api/v1/patients/999999/orders", json=body, headers=DOCTOR)
    assert missing.status_code == 404
    assert missing.get_json()["title"] == "Not Found"
    with services.read_session() as s:
        assert s.scalars(select(Order)).all() == []  # nothing half-written
        assert not s.scalars(
            select(OutboundMessage).where(OutboundMessage.message_type == "ORM")
        ).all()


def test_an_order_is_pushed_to_the_board(services, live_server, staff_token, client, clock):
    stay = admit(services)
    patient = patient_of(services, stay)
    with BoardSocket(live_server.url, {"signon": staff_token}, "AMU") as screen:
        response = client.post(
            f"/api/v1/patients/{patient}/orders",
            json={"test": "TROP", "priority": "critical"},
            headers=DOCTOR,
        )
        assert response.status_code == 201
        pushed = screen.next()  # OrderPlaced names AMU: the board re-pushes
        assert pushed["ward"] == "AMU"
        assert result_alert(pushed["snapshot"], stay) is None  # not yet due (1 h for stat)
    clock.freeze(datetime(2026, 11, 22, 11, 1, tzinfo=UTC))
    assert result_alert(board(client), stay)["level"] == "red"  # stat order not done in 1 h


@pytest.mark.parametrize(
    ("orc12", "directed"),
    [
        ("C1234567^OKAFOR^Adaeze^^^Dr", True),  # a consultant in the layout
        ("G9999999^SMITH^Jo^^^Dr", False),  # not a known consultant
        ("", False),  # no ordering provider
    ],
)
def test_an_hl7_order_from_a_consultant_is_consultant_directed(services, clock, orc12, directed):
    admit(services)
    placer = "HORD1"  # each case has its own database
    orc = f"ORC|NW|{placer}||||||||||{orc12}"
    obr = f"OBR|1|{placer}||UE^Urea and electrolytes^LN"
    msh = "MSH|^~\\&|EPR|WGH|WARDBOARD|WGH|20261122093000||ORM^O01^ORM_O01|{cid}|P|2.5.1"
    pid = "PID|1||RM3000001^^^WGH^MR~9990000018^^^NHS^NH||JONES^John||19580312|M"
    raw = "\r".join([msh.format(cid=f"C{placer}"), pid, orc, obr]) + "\r"
    send(services, raw.encode())
    with services.read_session() as s:
        order = s.scalars(select(Order).where(Order.placer_order_number == placer)).one()
        assert order.consultant_directed is directed
        assert order.ordered_by == (orc12.split("^")[0] or None)
