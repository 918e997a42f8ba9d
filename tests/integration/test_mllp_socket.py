"""The listener over a real TCP socket: framing, many messages, errors, idle connections."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import hl7.client
import pytest

from integration.mllp.client import MllpClient
from integration.mllp.framing import FrameDecoder, frame
from tests.hl7_builder import ack_code, ack_segment, adt
from tests.integration.record_queries import journal, stays


def connect(live) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", live.mllp.port), timeout=10)
    return sock


def read_acks(sock: socket.socket, n: int) -> list[bytes]:
    decoder, acks = FrameDecoder(), []
    while len(acks) < n:
        data = sock.recv(65536)
        if not data:
            break
        acks += decoder.feed(data)
    return acks


def test_many_messages_on_one_connection(live_server):
    with MllpClient("127.0.0.1", live_server.mllp.port) as client:
        acks = [
            client.send(
                adt(
                    "A01",
                    control_id=f"M{i}",
                    hospital_number=f"H{i}",
                    nhs_number=None,
                    given=("Ann", "Bob", "Carl", "Dora")[i - 1],
                    family=f"PATIENT{i}",
                    dob=f"19{50 + i}0{i}1{i}",
                    visit=f"V{i}",
                    location=f"AMU^A^A{i}",
                )
            )
            for i in range(1, 5)
        ]
    assert [ack_code(a) for a in acks] == ["AA"] * 4
    assert [ack_segment(a, "MSA")[2] for a in acks] == ["M1", "M2", "M3", "M4"]
    assert len(stays(live_server.services)) == 4


def test_several_messages_in_one_write_and_one_split_across_writes(live_server):
    sock = connect(live_server)
    m1, m2, m3 = (frame(adt("A08", control_id=f"S{i}")) for i in range(3))
    sock.sendall(b"noise before the start block" + m1 + m2)
    for i in range(0, len(m3), 7):
        sock.sendall(m3[i : i + 7])
        time.sleep(0.001)
    acks = read_acks(sock, 3)
    sock.close()
    assert [ack_segment(a, "MSA")[2] for a in acks] == ["S0", "S1", "S2"]


def test_ack_is_sent_only_after_commit(live_server):
    with MllpClient("127.0.0.1", live_server.mllp.port) as client:
        ack = client.send(adt("A01", control_id="COMMIT1"))
        # Read from a separate session immediately: the change is already durable.
        [entry] = journal(live_server.services)
        assert ack_code(ack) == "AA"
        assert entry.control_id == "COMMIT1" and entry.state == "applied"
        assert stays(live_server.services) == [("JONES", "AMU", "A1", "active")]


def test_resend_on_a_new_connection_is_not_applied_twice(live_server):
    raw = adt("A01", control_id="RESEND1")
    for _ in range(3):
        with MllpClient("127.0.0.1", live_server.mllp.port) as client:
            assert ack_code(client.send(raw)) == "AA"
    assert len(stays(live_server.services)) == 1
    assert len(journal(live_server.services)) == 1


def test_garbage_gets_ar_and_the_connection_stays_usable(live_server):
    with MllpClient("127.0.0.1", live_server.mllp.port) as client:
        bad = client.send(b"\x00\xff garbage")
        good = client.send(adt("A01", control_id="AFTER1"))
    assert ack_code(bad) == "AR"
    assert ack_code(good) == "AA"


def test_oversized_message_gets_ar_then_connection_continues(app, settings):
    from config.app import app_services

    services = app_services(app)
    services.settings = settings.replace(mllp_max_message_bytes=2000)
    mllp = services.start_listener(port=0)
    with MllpClient("127.0.0.1", mllp.port) as client:
        big = adt("A01", control_id="BIG1", family="X" * 5000)
        ack = client.send(big)
        assert ack_code(ack) == "AR"
        assert "exceeds" in ack_segment(ack, "ERR")[8]
        assert ack_segment(ack, "MSA")[2] == "BIG1"
        assert ack_code(client.send(adt("A01", control_id="SMALL1"))) == "AA"


def test_idle_connection_is_closed(app, settings):
    from config.app import app_services

    services = app_services(app)
    services.settings = settings.replace(mllp_idle_timeout_seconds=0.3)
    mllp = services.start_listener(port=0)
    sock = socket.create_connection(("127.0.0.1", mllp.port), timeout=5)
    sock.sendall(frame(adt("A08", control_id="IDLE1")))
    assert ack_code(read_acks(sock, 1)[0]) == "AA"
    time.sleep(0.3)
    deadline = time.monotonic() + 5
    closed = False
    while time.monotonic() < deadline:
        if sock.recv(1024) == b"":
            closed = True
            break
    sock.close()
    assert closed
    assert mllp.listening  # the listener itself carries on


def test_latin1_message_over_the_wire(live_server):
    raw = adt("A01", control_id="CY1", given="Siân", charset="8859/1", encoding="latin-1")
    with MllpClient("127.0.0.1", live_server.mllp.port) as client:
        ack = client.send(raw)
    assert ack_code(ack) == "AA"
    assert b"8859/1" in ack.split(b"\r")[0]  # answered in the sender's character set


def test_python_hl7_client_gets_aa(live_server):
    """Interoperability: python-hl7's MLLP client (a real client from PyPI)."""
    message = adt("A01", control_id="PYHL7").decode("utf-8")
    with hl7.client.MLLPClient("127.0.0.1", live_server.mllp.port) as client:
        ack = client.send_message(message)
    assert ack_code(ack) == "AA"


def test_python_hl7_mllp_send_command_gets_aa(live_server, tmp_path):
    """Interoperability: the mllp_send command-line tool that python-hl7 installs."""
    exe = str(Path(sys.executable).parent / "mllp_send")
    path = tmp_path / "msg.hl7"
    path.write_bytes(adt("A01", control_id="MLLPSEND"))
    result = subprocess.run(
        [exe, "--port", str(live_server.mllp.port), "--file", str(path), "--loose", "127.0.0.1"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert b"MSA|AA|MLLPSEND" in result.stdout.replace(b"\n", b"\r")


@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_interleaved_connections(live_server, chunk):
    """Two senders writing at once, one of them byte by byte, both get their own ACKs."""
    a, b = connect(live_server), connect(live_server)
    ma = frame(adt("A08", control_id=f"IA{chunk}"))
    mb = frame(adt("A08", control_id=f"IB{chunk}"))
    for i in range(0, max(len(ma), len(mb)), chunk):
        a.sendall(ma[i : i + chunk]) if i < len(ma) else None
        b.sendall(mb[i : i + chunk]) if i < len(mb) else None
    assert ack_segment(read_acks(a, 1)[0], "MSA")[2] == f"IA{chunk}"
    assert ack_segment(read_acks(b, 1)[0], "MSA")[2] == f"IB{chunk}"
    a.close()
    b.close()


def test_a_sender_not_on_the_allow_list_gets_AR_and_nothing_is_journalled(settings):
    from sqlalchemy import func, select

    from config.app import app_services, create_app
    from integration.journal import InboundMessage
    from integration.mllp.client import MllpClient
    from tests.hl7_builder import ack_code, adt

    app = create_app(settings=settings.replace(mllp_allowed_senders="10.99.0.0/16"))
    services = app_services(app)
    try:
        listener = services.start_listener(port=0)
        with MllpClient("127.0.0.1", listener.port) as mllp:
            assert ack_code(mllp.send(adt("A01"))) == "AR"
        with services.sessions() as db:
            assert db.scalar(select(func.count()).select_from(InboundMessage)) == 0
    finally:
        services.stop()
