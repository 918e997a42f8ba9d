"""Separate processes: two web (gunicorn) and two MLLP on PostgreSQL, board pushes via Redis.

A message accepted by any MLLP listener process must reach the boards held by every web
process; the same message sent to both listeners is applied once; a board whose web process
dies re-syncs from another one.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config.bootstrap import bootstrap
from config.settings import Settings
from integration.mllp.client import MllpClient
from mpi.models import Patient
from tests.hl7_builder import ack_code, adt
from tests.split_site import ROOT, Board, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# Three different people, so the master patient index keeps three records.
PEOPLE = {
    "VIAONE": dict(hospital_number="RM7100001", nhs_number=None, given="Ann", dob="19400101"),
    "TWICE": dict(hospital_number="RM7100002", nhs_number=None, given="Bob", dob="19510202"),
    "MEANWHILE": dict(hospital_number="RM7100003", nhs_number=None, given="Cy", dob="19620303"),
}


def admit(family: str, bed: str, **extra: str) -> bytes:
    return adt("A01", family=family, location=f"AMU^A^{bed}", **PEOPLE[family], **extra)


def _patients_named(database_url: str, family: str) -> int:
    settings = Settings(database_url=database_url, board_push_enabled=False)
    services = bootstrap(settings)
    try:
        with services.read_session() as session:
            query = select(func.count()).where(Patient.family_name == family)
            return session.scalar(query) or 0
    finally:
        services.stop()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_any_listener_reaches_every_web_process_and_applies_once(site, nurse_token):
    (_web1, url1), (_web2, url2) = site.web(), site.web()
    (_m1, port1), (_m2, port2) = site.mllp(), site.mllp()
    boards = [Board(url1, nurse_token), Board(url2, nurse_token)]
    try:
        with MllpClient("127.0.0.1", port1) as mllp:
            assert ack_code(mllp.send(admit("VIAONE", "A1"))) == "AA"
        for board in boards:
            board.wait_for_family("VIAONE")

        resent = admit("TWICE", "A2", control_id="SPLIT-1")
        with MllpClient("127.0.0.1", port2) as mllp:
            assert ack_code(mllp.send(resent)) == "AA"
        for board in boards:
            board.wait_for_family("TWICE")
        with MllpClient("127.0.0.1", port1) as mllp:  # the sender resends to the other one
            assert ack_code(mllp.send(resent)) == "AA"
        assert _patients_named(site.env["WARDBOARD_DATABASE_URL"], "TWICE") == 1
    finally:
        for board in boards:
            board.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_board_whose_web_process_dies_resyncs_from_another(site, nurse_token):
    (web1, url1), (_web2, url2) = site.web(), site.web()
    _m, port = site.mllp()
    first = Board(url1, nurse_token)
    web1.stop(signal.SIGKILL)
    with MllpClient("127.0.0.1", port) as mllp:  # arrives while the board has no process
        assert ack_code(mllp.send(admit("MEANWHILE", "A3"))) == "AA"
    second = Board(url2, nurse_token)  # what the proxy does: the next process takes it
    try:
        names = [p["display_name"] for p in second.snapshot["patients"]]
        assert any(n.startswith("MEANWHILE") for n in names)
    finally:
        second.close()
        first.client.disconnect()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_web_process_keeps_an_idle_connection_longer_than_a_proxy_would(site):
    """Gunicorn's 2 s default closed connections a client was about to reuse: no answer."""
    _web, url = site.web()
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)

    def healthz() -> None:
        connection.request("GET", "/healthz")
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200 and not answer.will_close

    try:
        healthz()
        opened = connection.sock
        time.sleep(3)
        healthz()
        assert connection.sock is opened  # closed at 2 s, the request above got no answer
    finally:
        connection.close()


def test_web_process_refuses_to_start_without_a_shared_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDBOARD_")}
    env["WARDBOARD_INSTANCE_PATH"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "web", "--port", str(free_port())],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "WARDBOARD_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr
