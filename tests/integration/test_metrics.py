"""GET /metrics: true figures from the database after real HL7 traffic, and who may scrape."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import socketio
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from config.db import utcnow
from config.settings import Settings
from integration import journal
from integration.journal import InboundMessage
from integration.mllp.client import MllpClient
from integration.outbound.queue import OutboundMessage
from tests.board_socket import CONNECT_WAIT
from tests.hl7_builder import ack_code, adt

TOKEN = "scrape-me-0123456789abcdef"


@pytest.fixture
def settings(settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The usual test settings plus a scraper token and two outbound destinations: MIRROR
    subscribes to patient changes (nothing listens there, so its messages stay pending)."""
    dest_file = tmp_path / "destinations.toml"
    dest_file.write_text(
        '[destinations.MIRROR]\nhost = "127.0.0.1"\nport = 9\n'
        '[destinations.LAB]\nhost = "127.0.0.1"\nport = 9\n'
        '[subscribers]\npatient_changes = ["MIRROR"]\n'
    )
    return settings.replace(metrics_token=TOKEN, hl7_destinations_file=str(dest_file))


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape_http(base_url: str) -> Samples:
    """Scrape over real HTTP, as Prometheus does."""
    request = urllib.request.Request(
        base_url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        return parse(response.read().decode("utf-8"))


def scrape(client) -> Samples:  # type: ignore[no-untyped-def]
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return parse(response.get_data(as_text=True))


def parse(text: str) -> Samples:
    """{(sample name, sorted labels): value}, parsed by prometheus_client."""
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def one(samples, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    return samples[(name, tuple(sorted(labels.items())))]


def test_scrape_reports_the_true_journal_and_queue_figures(live_server):
    services = live_server.services
    with MllpClient("127.0.0.1", live_server.mllp.port) as mllp:
        acks = [
            mllp.send(adt("A01", hospital_number="RM1", nhs_number=None, family="JONE")),
            mllp.send(
                adt(
                    "A01", hospital_number="RM2", nhs_number=None, given="Jack", location="AMU^A^A2"
                )
            ),
            # A correction: announced to MIRROR as an A08, which stays pending (MIRROR is down).
            mllp.send(adt("A08", hospital_number="RM1", nhs_number=None, family="JONES")),
        ]
        acks.append(mllp.send(adt("A01", hospital_number="RM9", location="NOWHERE^^")))
        acks.append(mllp.send(b"MSH|^~\\&|broken\r"))  # unreadable: rejected
    assert [ack_code(a) for a in acks] == ["AA", "AA", "AA", "AE", "AR"]

    # A message journalled by a process that died before applying it: the apply backlog.
    stranded = adt("A01", control_id="STRANDED", hospital_number="RM7", location="AMU^A^A4")
    with services.uow_factory() as uow:
        journal.record(
            uow.session,
            InboundMessage(
                sender="PAS|WGH",
                control_id="STRANDED",
                message_type="ADT",
                trigger_event="A01",
                received_at=utcnow(),
                raw=stranded,
                state=journal.RECEIVED,
            ),
        )
        uow.commit()
    with services.read_session() as s:
        pending_out = s.scalar(
            select(func.count())
            .select_from(OutboundMessage)
            .where(OutboundMessage.destination == "MIRROR", OutboundMessage.state == "pending")
        )

    samples = scrape_http(live_server.url)

    assert one(samples, "wardboard_database_up") == 1
    journalled = {
        state: one(samples, "wardboard_hl7_journal_messages", state=state)
        for state in ("received", "applied", "failed", "rejected")
    }
    assert journalled == {"received": 1, "applied": 3, "failed": 1, "rejected": 1}
    assert one(samples, "wardboard_hl7_error_queue_messages") == 2
    assert one(samples, "wardboard_hl7_error_queue_messages_by_type", message_type="ADT^A01") == 1
    assert one(samples, "wardboard_hl7_error_queue_messages_by_type", message_type="") == 1
    assert one(samples, "wardboard_hl7_apply_backlog_messages") == 1
    assert 0 < one(samples, "wardboard_hl7_apply_backlog_oldest_seconds") < 3600
    assert pending_out == 1
    assert one(samples, "wardboard_hl7_outbound_pending_messages", destination="MIRROR") == 1
    assert (
        0
        < one(samples, "wardboard_hl7_outbound_oldest_pending_seconds", destination="MIRROR")
        < 3600
    )
    assert one(samples, "wardboard_hl7_outbound_pending_messages", destination="LAB") == 0
    assert one(samples, "wardboard_hl7_outbound_failed_messages", destination="MIRROR") == 0
    assert one(samples, "wardboard_mllp_messages_received_total") == 5
    assert one(samples, "wardboard_mllp_listening") == 1
    assert ("process_cpu_seconds_total", ()) in samples


def test_board_pushes_and_connected_boards_are_counted(live_server, staff_token):
    services = live_server.services
    board = socketio.Client(reconnection=False)
    board.connect(
        live_server.url,
        namespaces=["/board"],
        transports=["websocket"],
        auth={"signon": staff_token},
        wait_timeout=CONNECT_WAIT,
    )
    try:
        assert ack_code(services.pipeline.receive(adt("A01"), "t")) == "AA"
        deadline = time.monotonic() + 30
        while services.publisher.pushes == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        samples = scrape_http(live_server.url)
        assert one(samples, "wardboard_socketio_clients", namespace="/board") == 1
        assert one(samples, "wardboard_socketio_clients", namespace="/session") == 0
    finally:
        board.disconnect()
    pushes = one(samples, "wardboard_board_pushes_total")
    assert pushes >= 1
    assert one(samples, "wardboard_board_push_failures_total") == 0
    assert one(samples, "wardboard_board_push_seconds_count") >= pushes
    assert one(samples, "wardboard_board_push_seconds_bucket", le="+Inf") >= pushes
    assert one(samples, "wardboard_board_last_push_seconds") > 0


def test_two_apps_on_one_database_report_the_same_figures(app, settings):
    """Each app has its own registry; the queue figures come from the shared database."""
    from config.app import create_app

    assert ack_code(app.extensions["wardboard"].pipeline.receive(adt("A01"), "t")) == "AA"
    other = create_app(settings=settings)
    try:
        first = scrape(app.test_client())
        second = scrape(other.test_client())
        assert app.extensions["wardboard_metrics"] is not other.extensions["wardboard_metrics"]
        for name in ("wardboard_hl7_journal_messages",):
            assert one(first, name, state="applied") == one(second, name, state="applied") == 1
    finally:
        other.extensions["wardboard"].stop()


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 200), ("manager", 200), ("nurse", 403), ("gp", 403)],
)
def test_staff_access_follows_the_matrix(client_as, who, status):
    response = client_as(who).get("/metrics")
    assert response.status_code == status
    if status == 200:
        names = {f.name for f in text_string_to_metric_families(response.get_data(as_text=True))}
        assert "wardboard_hl7_error_queue_messages" in names


def test_a_scraper_needs_the_right_token(client, kiosk_client):
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    for header in ("Bearer wrong-token-0123456789", "Bearer ", f"Bearer {TOKEN}x"):
        response = client.get("/metrics", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/signon")
    assert kiosk_client.get("/metrics").status_code == 403
    # The token opens /metrics and nothing else.
    for path in ("/api/v1/wards", "/api/v1/hl7/messages", "/"):
        response = client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 403, path


def test_no_token_configured_means_no_token_access(app, settings, client):
    from config.app import create_app

    without = create_app(settings=settings.replace(metrics_token=""))
    try:
        response = without.test_client().get("/metrics", headers={"Authorization": "Bearer "})
        assert response.status_code == 401
        response = without.test_client().get(
            "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.status_code == 401
    finally:
        without.extensions["wardboard"].stop()


def test_a_short_token_is_a_bad_setting(tmp_path: Path):
    with pytest.raises(ValueError, match="WARDBOARD_METRICS_TOKEN is too short"):
        Settings.from_env({"WARDBOARD_METRICS_TOKEN": "short"}, instance_path=tmp_path)
