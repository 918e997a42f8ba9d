"""Fault drills on a split site: Redis and PostgreSQL restart under it.

The system must recover without an operator: ``/healthz`` says what is down while it is down,
no message is acknowledged that was not stored, and once the service is back the same
processes accept messages and push them to the boards again. (Killing a web process is in
test_processes.py; killing the MLLP listener mid-stream is test_crash_recovery.py.)

These restart the machine's own Redis and PostgreSQL, with the commands the machine starts
them with, so they run only where the test may do that (root, the Debian service tools).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from integration.mllp.client import MllpClient
from tests.hl7_builder import ack_code, adt
from tests.split_site import Board, http_status

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
    "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


def _may_restart(*tools: str) -> None:
    if os.geteuid() != 0 or any(shutil.which(t) is None for t in tools):
        pytest.skip(f"restarting services needs root and {', '.join(tools)}")


def _eventually(check, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.2)


def _health(url: str) -> int:
    return http_status(f"{url}/healthz")


def _admit(family: str, bed: str, number: str) -> bytes:
    return adt(
        "A01", family=family, location=f"AMU^A^{bed}", hospital_number=number,
        nhs_number=None, given=family.title(), dob=f"19{number[-2:]}0101",
    )  # fmt: skip


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_redis_restart_boards_keep_receiving_pushes(site, nurse_token):
    _may_restart("redis-server", "redis-cli")
    _web, url = site.web()
    _m, port = site.mllp()
    board = Board(url, nurse_token)
    try:
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "shutdown", "nosave"], check=False)
        _eventually(lambda: _health(url) == 503, "/healthz reports Redis down")
        subprocess.run(REDIS_START, check=True)
        _eventually(lambda: _health(url) == 200, "/healthz healthy again")
        # The web process re-subscribes by itself (python-socketio retries); pushes resume.
        # Boards are sent whole snapshots, so the next change also carries anything missed.
        deadline = time.monotonic() + 60
        with MllpClient("127.0.0.1", port) as mllp:
            assert ack_code(mllp.send(_admit("AFTERREDIS", "A1", "RM7200011"))) == "AA"
        while True:
            try:
                board.wait_for_family("AFTERREDIS", timeout=5)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                with MllpClient("127.0.0.1", port) as mllp:  # any change re-pushes the ward
                    mllp.send(_admit("NUDGE", "A2", "RM7200012"))
    finally:
        subprocess.run(REDIS_START, check=False)  # whatever happened, leave Redis running
        board.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_restart_nothing_acknowledged_is_lost(site, nurse_token, tmp_path: Path):
    _may_restart("pg_ctlcluster")
    cluster = [next(iter(os.listdir("/etc/postgresql"))), "main"]
    pg = ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster]
    _web, url = site.web()
    _m, port = site.mllp()
    board = Board(url, nurse_token)
    message = _admit("DURINGPG", "A3", "RM7200021")
    try:
        subprocess.run([*pg, "stop", "-m", "fast"], check=True)
        _eventually(lambda: _health(url) == 503, "/healthz reports the database down")
        with MllpClient("127.0.0.1", port, timeout=30) as mllp:
            try:
                code = ack_code(mllp.send(message))
            except (OSError, ValueError):
                code = None  # no ACK at all: the sender keeps the message and resends
        assert code != "AA", "a message was acknowledged while the database was down"
    finally:
        subprocess.run([*pg, "start"], check=False)
    _eventually(lambda: _health(url) == 200, "/healthz healthy again")
    with MllpClient("127.0.0.1", port) as mllp:  # the sender's resend, to the same process
        assert ack_code(mllp.send(message)) == "AA"
    board.wait_for_family("DURINGPG", timeout=30)
    board.close()
    mllp_log = next(p for p in site.processes if p.log.name.startswith("mllp")).log.read_text()
    assert "journal commit of 1 message(s) failed" in mllp_log  # the log says what happened
