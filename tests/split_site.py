"""A site split into processes (``run.py web`` / ``mllp``) for tests that cross them.

The processes share one database and one Redis channel; each writes a log into the test's
temporary folder, shown when it fails to start.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from tests.board_socket import BoardSocket

ROOT = Path(__file__).resolve().parents[1]
TEST_LAYOUT = Path(__file__).parent / "data" / "test_layout.toml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def http_status(url: str) -> int:
    """The status code, or 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


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
        proc.wait_until(lambda: http_status(f"{url}/healthz") == 200, f"web process on {port}")
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


class Board(BoardSocket):
    """A real Socket.IO client watching one ward on one web process."""

    def __init__(self, url: str, token: str, ward: str = "AMU") -> None:
        super().__init__(url, {"signon": token}, ward)

    def wait_for_family(self, family: str, timeout: float = 20.0) -> dict:
        """The first pushed snapshot showing a patient of this family name."""
        return self.wait_for(
            lambda snap: any(p["display_name"].startswith(family) for p in snap["patients"]),
            timeout,
        )
