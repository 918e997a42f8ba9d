"""The outbound queue against a real downstream MLLP listener: A08 on a correction, A40 on a
merge; ordered, retried until acknowledged, AR a permanent failure, MSA-2 checked."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from config.app import app_services, create_app
from config.layout import apply_layout, load_layout
from integration.hl7.ack import build_ack
from integration.hl7.header import read_header
from integration.mllp.server import MllpServer
from integration.outbound.queue import DestinationConfigError, Destinations, OutboundMessage
from tests.hl7_builder import adt


class Downstream:
    """A subscriber system: records what it receives and answers as told."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.answer = "AA"
        self.echo_wrong_id = False
        self.delay = 0.0  # seconds before answering: a slow subscriber
        self.lock = threading.Lock()
        self.server = MllpServer(self.receive, "127.0.0.1", 0).start()

    def receive(self, raw: bytes, _peer: str) -> bytes:
        import time
        from datetime import UTC, datetime

        time.sleep(self.delay)
        with self.lock:
            self.received.append(raw)
        header = read_header(raw)
        if self.echo_wrong_id:
            header = dataclasses.replace(header, control_id="SOMETHING-ELSE")
        return build_ack(header, self.answer, datetime.now(UTC)).encode()


@pytest.fixture
def downstream():
    d = Downstream()
    yield d
    d.server.stop()


@pytest.fixture
def wired(tmp_path: Path, settings, downstream):
    dest_file = tmp_path / "destinations.toml"
    port = downstream.server.port
    endpoints = "".join(
        f'[destinations.{name}]\nhost = "127.0.0.1"\nport = {port}\n'
        for name in ("MIRROR", "LAB", "RIS", "GPINBOX")
    )
    dest_file.write_text(
        endpoints + '[subscribers]\npatient_changes = ["MIRROR"]\n'
        '[order_routes]\ndefault = "LAB"\nprefixes = { XR = "RIS" }\n'
        '[practices]\nP81001 = "GPINBOX"\n'
    )
    app = create_app(settings=settings.replace(hl7_destinations_file=str(dest_file)))
    services = app_services(app)
    with services.uow_factory() as uow:
        apply_layout(uow.session, load_layout(settings.layout_file))
        uow.commit()
    services.outbound = None
    from integration.outbound.queue import OutboundSender

    sender = OutboundSender(services.uow_factory, services.destinations, timeout=5)
    yield services, sender, app
    services.stop()


def queue(services) -> list[tuple[str, str, int]]:
    with services.read_session() as s:
        return [
            (m.message_type, m.state, m.attempts)
            for m in s.scalars(select(OutboundMessage).order_by(OutboundMessage.id))
        ]


def test_correction_and_merge_are_sent_in_order_and_acknowledged(wired, downstream):
    services, sender, _ = wired
    send = services.pipeline.receive
    send(adt("A01", hospital_number="RM1", nhs_number=None, family="JONE"), "t")
    # A different person as far as the index can tell, so the A40 has two records to merge.
    send(
        adt(
            "A01",
            hospital_number="RM2",
            nhs_number=None,
            given="Jack",
            dob="19610704",
            visit="V2",
            location="AMU^A^A2",
        ),
        "t",
    )
    downstream.received.clear()
    with services.uow_factory() as uow:  # what the admissions queued is not the subject
        uow.session.execute(delete(OutboundMessage))
        uow.commit()
    send(adt("A08", control_id="FIX1", hospital_number="RM1", nhs_number=None, family="JONES"), "t")
    merge = adt("A40", control_id="M1", hospital_number="RM1", nhs_number=None) + b"MRG|RM2\r"
    send(merge, "t")
    assert [q[:2] for q in queue(services)] == [("ADT^A08", "pending"), ("ADT^A40", "pending")]

    while sender.send_due():
        pass
    assert [q[:2] for q in queue(services)] == [("ADT^A08", "sent"), ("ADT^A40", "sent")]
    a08, a40 = downstream.received
    assert b"ADT^A08^ADT_A01" in a08 and b"|JONES^John" in a08
    assert b"ADT^A40^ADT_A39" in a40 and b"\rMRG|RM2^^^WGH^MR" in a40


def test_a_clerks_merge_is_sent_downstream_as_a40(wired, downstream):
    """A merge decided on the clerks' page reaches other systems just as an HL7 A40 does."""
    from config.db import utcnow
    from mpi.commands import MergePatients
    from mpi.models import PatientIdentifier

    services, sender, _ = wired
    send = services.pipeline.receive
    send(adt("A01", hospital_number="RM1", nhs_number=None), "t")
    send(adt("A01", hospital_number="RM2", nhs_number=None, given="Jack", dob="19610704"), "t")
    with services.uow_factory() as uow:
        uow.session.execute(delete(OutboundMessage))
        uow.commit()
    with services.read_session() as s:
        owner = {i.value: i.patient_id for i in s.scalars(select(PatientIdentifier))}
    services.bus.handle(
        MergePatients(utcnow(), survivor_id=owner["RM1"], merged_id=owner["RM2"], actor="clerk1")
    )
    assert [q[:2] for q in queue(services)] == [("ADT^A40", "pending")]
    while sender.send_due():
        pass
    [a40] = downstream.received[-1:]
    assert b"ADT^A40^ADT_A39" in a40 and b"\rMRG|RM2^^^WGH^MR" in a40
    assert b"|RM1^^^WGH^MR" in a40


def test_down_then_up_is_retried_and_ar_is_permanent(wired, downstream):
    services, sender, _ = wired
    send = services.pipeline.receive
    send(adt("A08", hospital_number="RM5", nhs_number=None, family="FIRST"), "t")
    port = downstream.server.port
    downstream.server.stop()  # the subscriber is down
    assert sender.send_due() == 0
    [(_, state, attempts)] = queue(services)
    assert (state, attempts) == ("pending", 1)
    with services.read_session() as s:
        assert "cannot deliver" in s.scalars(select(OutboundMessage.last_error)).one()

    downstream.server = MllpServer(downstream.receive, "127.0.0.1", port).start()
    downstream.echo_wrong_id = True  # an ACK for someone else's message is not ours
    with services.uow_factory() as uow:
        uow.session.execute(
            update(OutboundMessage).values(next_attempt_at=OutboundMessage.created_at)
        )
        uow.commit()
    assert sender.send_due() == 0
    assert queue(services)[0][1:] == ("pending", 2)

    downstream.echo_wrong_id = False
    downstream.answer = "AR"
    with services.uow_factory() as uow:
        uow.session.execute(
            update(OutboundMessage).values(next_attempt_at=OutboundMessage.created_at)
        )
        uow.commit()
    assert sender.send_due() == 1
    assert queue(services)[0][1:] == ("failed", 3)


def test_outbound_queue_is_visible_in_the_api(wired, downstream):
    services, sender, app = wired
    services.pipeline.receive(adt("A08", hospital_number="RM7", nhs_number=None), "t")
    sender.send_due()
    from tests.auth_helpers import StaffMaker, sign_on

    admin = StaffMaker(services)("admin")
    client = app.test_client()
    sign_on(client, admin.card, admin.pin)
    [row] = client.get("/api/v1/hl7/outbound").get_json()["messages"]
    assert row["state"] == "sent" and row["destination"] == "MIRROR"
    assert row["payload"].startswith("MSH|^~\\&|WARDBOARD")


def test_destinations_file_must_name_known_subscribers(tmp_path: Path):
    bad = tmp_path / "d.toml"
    bad.write_text('[subscribers]\npatient_changes = ["NOWHERE"]\n')
    with pytest.raises(DestinationConfigError, match="unknown destination"):
        Destinations.load(str(bad))


def test_the_example_destinations_file_loads():
    example = Path(__file__).resolve().parents[2] / "config" / "destinations.example.toml"
    assert Destinations.load(str(example)).patient_changes == ("PASMIRROR",)


def test_gp_order_goes_to_its_department_and_the_result_to_the_practice(wired, downstream):
    from tests.integration.test_orders_results import order, result

    services, sender, _ = wired
    send = services.pipeline.receive
    send(order("NW", "GO1", "GP0100"), "t")
    xray = order("NW", "GO2", "GP0101").replace(b"FBC^Full blood count", b"XRCH^Chest x-ray")
    send(xray, "t")
    send(result("GR1", "F", placer="GP0100"), "t")
    send(result("GR2", "F", placer="UNKNOWN", filler="LABX"), "t")  # kept, not forwarded
    with services.read_session() as s:
        rows = s.execute(
            select(OutboundMessage.destination, OutboundMessage.message_type)
            .where(OutboundMessage.destination != "MIRROR")
            .order_by(OutboundMessage.id)
        ).all()
    assert [tuple(r) for r in rows] == [("LAB", "ORM"), ("RIS", "ORM"), ("GPINBOX", "ORU^R01")]
    while sender.send_due():
        pass
    forwarded = [m.split(b"\r")[0].split(b"|") for m in downstream.received]
    by_dest = {f[4]: f for f in forwarded}
    assert set(by_dest) >= {b"LAB", b"RIS", b"GPINBOX"}
    assert by_dest[b"GPINBOX"][8].startswith(b"ORU^R01") and by_dest[b"GPINBOX"][2] == b"WARDBOARD"


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_listener_processes_never_send_a_message_twice(wired, downstream):
    """On PostgreSQL every MLLP process runs a sender; the head row is locked while it is
    delivered, so two senders racing over one queue deliver each message once, in order."""
    import time

    services, sender, _ = wired
    other = type(sender)(services.uow_factory, services.destinations, timeout=5)
    for n in range(6):
        services.pipeline.receive(
            adt("A08", control_id=f"C{n}", hospital_number="RM5", nhs_number=None, family=f"N{n}"),
            "t",
        )
    downstream.delay = 0.2  # long enough for the other sender to reach the same head

    def drain(s) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + 30
        while any(state == "pending" for _, state, _ in queue(services)):
            s.send_due()
            assert time.monotonic() < deadline, "queue not drained"

    threads = [threading.Thread(target=drain, args=(s,)) for s in (sender, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent_ids = [read_header(raw).control_id for raw in downstream.received]
    assert len(sent_ids) == len(set(sent_ids)) == len(queue(services))
    assert [state for _, state, _ in queue(services)] == ["sent"] * len(sent_ids)
    families = [raw.split(b"|N", 1)[1][:1] for raw in downstream.received]
    assert families == sorted(families)  # per-destination order kept
