"""Separate processes: two web (gunicorn) and two MLLP on PostgreSQL, board pushes via Redis.

A message accepted by any MLLP listener process must reach the boards held by every web
process; the same message sent to both listeners is applied once; a board whose web process
dies re-syncs from another one.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import socketio
from sqlalchemy import func, select

from config.bootstrap import bootstrap
from config.settings import Settings
from integration.mllp.client import MllpClient
from mpi.models import Patient
from tests.auth_helpers import StaffMaker, open_session
from tests.conftest import TEST_LAYOUT, _skip_or_fail
from tests.hl7_builder import ack_code, adt
from tests.integration.test_crash_recovery import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
# Three different people, so the master patient index keeps three records.
PEOPLE = {
    "VIAONE": dict(hospital_number="RM7100001", nhs_number=None, given="Ann", dob="19400101"),
    "TWICE": dict(hospital_number="RM7100002", nhs_number=None, given="Bob", dob="19510202"),
    "MEANWHILE": dict(hospital_number="RM7100003", nhs_number=None, given="Cy", dob="19620303"),
}


def admit(family: str, bed: str, **extra: str) -> bytes:
    return adt("A01", family=family, location=f"AMU^A^{bed}", **PEOPLE[family], **extra)


REDIS_URL = os.environ.get("WARDBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        _skip_or_fail(f"Redis not reachable at {REDIS_URL}: {exc}", "WARDBOARD_REQUIRE_REDIS")
    return REDIS_URL


class Process:
    """One ``run.py`` process, ready when its readiness check passes; killed at teardown."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self.out = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "run.py"), *args],
            env=env,
            cwd=ROOT,
            stdout=self.out,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_until(self, ready, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise AssertionError(f"{what} exited {code}:\n{self.log.read_text()}")
            if ready():
                return
            time.sleep(0.1)
        raise AssertionError(f"{what} not ready in {timeout} s:\n{self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class Site:
    """A small site split into processes that share one database and one Redis channel."""

    def __init__(self, tmp_path: Path, database_url: str, redis_url: str) -> None:
        self.tmp_path = tmp_path
        self.env = dict(
            os.environ,
            WARDBOARD_DATABASE_URL=database_url,
            WARDBOARD_REDIS_URL=redis_url,
            WARDBOARD_REDIS_CHANNEL=f"wardboard-test-{uuid.uuid4().hex[:8]}",
            WARDBOARD_SECRET_KEY="split-process-test-secret",
            WARDBOARD_LAYOUT_FILE=str(TEST_LAYOUT),
            WARDBOARD_INSTANCE_PATH=str(tmp_path),
            WARDBOARD_COOKIE_SECURE="false",
            WARDBOARD_SCHEDULER_ENABLED="false",
            WARDBOARD_WEB_THREADS="20",
        )
        self.processes: list[Process] = []

    def web(self) -> tuple[Process, str]:
        port = free_port()
        proc = self._start(["web", "--port", str(port)], f"web-{port}")
        url = f"http://127.0.0.1:{port}"
        proc.wait_until(lambda: _http_ok(f"{url}/healthz"), f"web process on {port}")
        return proc, url

    def mllp(self) -> tuple[Process, int]:
        port = free_port()
        proc = self._start(["mllp", "--port", str(port)], f"mllp-{port}")
        proc.wait_until(lambda: "MLLP listening on" in proc.log.read_text(), f"MLLP on {port}")
        return proc, port

    def _start(self, args: list[str], name: str) -> Process:
        proc = Process(args, self.env, self.tmp_path / f"{name}.log")
        self.processes.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()


class Board:
    """A real Socket.IO client watching one ward on one web process."""

    def __init__(self, url: str, token: str, ward: str = "AMU") -> None:
        self.received: queue.Queue[dict] = queue.Queue()
        self.client = socketio.Client(reconnection=False)
        self.client.on("board", self.received.put, namespace="/board")
        self.client.connect(
            url, namespaces=["/board"], transports=["websocket"], auth={"signon": token}
        )
        self.client.emit("join", {"ward": ward}, namespace="/board")
        self.snapshot = self.received.get(timeout=20)["snapshot"]

    def wait_for(self, family: str, timeout: float = 20.0) -> dict:
        """The first pushed snapshot showing a patient of this family name."""
        deadline = time.monotonic() + timeout
        while True:
            self.snapshot = self.received.get(timeout=max(0.1, deadline - time.monotonic()))[
                "snapshot"
            ]
            names = [p["display_name"] for p in self.snapshot["patients"]]
            if any(n.startswith(family) for n in names):
                return self.snapshot

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def site(tmp_path: Path, database_url: str, redis_url: str) -> Iterator[Site]:
    site = Site(tmp_path, database_url, redis_url)
    yield site
    site.stop()


@pytest.fixture
def nurse_token(site: Site) -> str:
    settings = Settings.from_env(site.env, board_push_enabled=False, scheduler_enabled=False)
    services = bootstrap(settings)
    try:
        return open_session(services, StaffMaker(services)("nurse"))
    finally:
        services.stop()


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
            board.wait_for("VIAONE")

        resent = admit("TWICE", "A2", control_id="SPLIT-1")
        with MllpClient("127.0.0.1", port2) as mllp:
            assert ack_code(mllp.send(resent)) == "AA"
        for board in boards:
            board.wait_for("TWICE")
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
