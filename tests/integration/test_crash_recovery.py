"""SIGKILL mid-stream: every message ACKed is kept, and every message is applied exactly once.

A real server process (``python run.py hl7 listen``) on a temporary SQLite database; a client
that streams admissions and, like every real sender, resends any message it has no ACK for;
the server is killed with SIGKILL while messages are in flight and started again. Afterwards
the journal holds each message once, every one is applied, and every patient has exactly one
stay: nothing lost, nothing applied twice.

Run with "async" senders (ACK once journalled, apply afterwards), the mode where a crash can
fall between the ACK and the apply, and with "sync" senders on a shorter stream.
``WARDBOARD_CRASH_TEST_MESSAGES`` sets the async stream's length: 3,000 by default,
because on the shared 2-core machine the applier manages only ~75-100 ADT/s and the full
10,000 (``WARDBOARD_CRASH_TEST_MESSAGES=10000``) takes over two minutes.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from integration.mllp.framing import FrameDecoder, frame
from tests.split_site import free_port

ROOT = Path(__file__).resolve().parents[2]
LAYOUT = ROOT / "tests" / "data" / "test_layout.toml"


def stream(n: int) -> list[bytes]:
    """Admit then discharge each patient: applying any message twice would show (a second
    stay, or a discharge of nobody), and the ward stays a realistic size."""
    out = []
    for i in range(n):
        patient, trigger = i // 2, ("A01", "A03")[i % 2]
        pv1 = ["PV1", "1", "I", "AMU^^", "", "", "", "C1234567^OKAFOR^Adaeze^^^Dr"]
        pv1 += [""] * 11 + [f"V{patient:06d}"] + [""] * 24 + ["20261122091500"]
        if trigger == "A03":
            pv1.append("20261122101500")
        segments = [
            f"MSH|^~\\&|PAS|WGH|WARDBOARD|WGH|20261122091500||ADT^{trigger}^ADT_A01|"
            f"CRASH{i:06d}|P|2.5.1",
            f"EVN|{trigger}|20261122091500",
            f"PID|1||CR{patient:06d}^^^WGH^MR||CRASH^Patient||19600101|F",
            "|".join(pv1),
        ]
        out.append(("\r".join(segments) + "\r").encode())
    return out


class Server:
    def __init__(self, db: Path, port: int, mode: str) -> None:
        self.env = dict(
            os.environ,
            WARDBOARD_DATABASE_URL=f"sqlite:///{db}",
            WARDBOARD_LAYOUT_FILE=str(LAYOUT),
            WARDBOARD_HL7_APPLY_MODE=mode,
            WARDBOARD_SCHEDULER_ENABLED="false",
            WARDBOARD_BOARD_PUSH_ENABLED="false",  # no boards attached; not the subject here
            WARDBOARD_INSTANCE_PATH=str(db.parent),
        )
        self.port = port
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "run.py"), "hl7", "listen", "--port", str(self.port)],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("MLLP listening on"):
                return
        raise AssertionError(f"server did not start (exit {self.proc.wait()})")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)


class ResendingSender:
    """Sends messages in order on one connection; any message without an ACK is resent."""

    def __init__(self, port: int, messages: list[bytes]) -> None:
        self.port = port
        self.messages = messages
        self.acked = 0
        self.resends = 0
        self.codes: dict[str, int] = {}
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _connect(self) -> socket.socket:
        deadline = time.monotonic() + 60
        while True:
            try:
                return socket.create_connection(("127.0.0.1", self.port), timeout=20)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _run(self) -> None:
        try:
            sock, decoder = self._connect(), FrameDecoder()
            i = 0
            while i < len(self.messages):
                try:
                    sock.sendall(frame(self.messages[i]))
                    ack = b""
                    while not ack:
                        data = sock.recv(65536)
                        if not data:
                            raise ConnectionError("closed")
                        items = decoder.feed(data)
                        ack = items[0] if items else b""  # type: ignore[assignment]
                except OSError:
                    self.resends += 1
                    sock.close()
                    sock, decoder = self._connect(), FrameDecoder()
                    continue  # the same message again
                code = ack.split(b"MSA|", 1)[1][:2].decode()
                self.codes[code] = self.codes.get(code, 0) + 1
                i += 1
                self.acked = i
            sock.close()
        except BaseException as exc:  # reported by the test
            self.failure = exc


def journal_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return dict(conn.execute("SELECT state, count(*) FROM inbound_message GROUP BY state"))


def run_crash(tmp_path: Path, mode: str, n: int) -> None:
    db = tmp_path / "crash.sqlite"
    server = Server(db, free_port(), mode)
    server.start()
    sender = ResendingSender(server.port, stream(n))
    try:
        sender.thread.start()
        while sender.acked < n // 3 and sender.thread.is_alive():
            time.sleep(0.01)
        server.kill()  # mid-stream: messages in flight, some ACKed and not yet applied
        killed_at = sender.acked
        server.start()
        sender.thread.join(timeout=600)
        assert sender.failure is None, sender.failure
        assert sender.acked == n
        deadline = time.monotonic() + 600
        while journal_counts(db).get("applied", 0) < n and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        server.terminate()

    assert 0 < killed_at < n
    assert sender.resends >= 1  # the kill really cut a message off
    assert set(sender.codes) <= {"AA", "CA"}
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT control_id, state FROM inbound_message").fetchall()
        assert sorted(cid for cid, _ in rows) == [f"CRASH{i:06d}" for i in range(n)]
        assert {state for _, state in rows} == {"applied"}
        per_patient = conn.execute(
            "SELECT count(*) FROM stay GROUP BY patient_id HAVING count(*) <> 1"
        ).fetchall()
        assert per_patient == []
        assert conn.execute("SELECT count(*) FROM patient").fetchone() == (n // 2,)
        assert conn.execute("SELECT DISTINCT state FROM stay").fetchall() == [("discharged",)]
    spool = db.with_name(f"{db.stem}.hl7spool{db.suffix}")  # integration/spool.py
    with sqlite3.connect(spool) as conn:
        assert conn.execute("SELECT count(*) FROM spooled_message").fetchone() == (0,)


def test_sigkill_mid_stream_async_senders_lose_nothing_and_apply_once(tmp_path: Path) -> None:
    run_crash(tmp_path, "async", int(os.environ.get("WARDBOARD_CRASH_TEST_MESSAGES", "3000")))


@pytest.mark.parametrize("n", [400])
def test_sigkill_mid_stream_sync_senders_lose_nothing_and_apply_once(
    tmp_path: Path, n: int
) -> None:
    run_crash(tmp_path, "sync", n)
