"""Driving a listener with the simulated hospital: send, wait for the ACK, resend if needed.

A message whose ACK never came (connection dropped, timeout) is resent with the same control
id, as a real sender would; the listener's journal makes that harmless.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from config.layout import Layout
from integration.hl7.header import read_header
from integration.mllp.client import MllpClient
from integration.simulator.hospital import HospitalModel, Outgoing

log = logging.getLogger(__name__)


@dataclass
class SimulationStats:
    sent: int = 0
    resent: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        codes = " ".join(f"{c} {n}" for c, n in sorted(self.codes.items())) or "-"
        return (
            f"sent {self.sent} ({codes}), resent {self.resent}, "
            f"{self.sent / elapsed:.1f} msg/s over {elapsed:.0f} s"
        )


@dataclass
class Simulation:
    layout: Layout
    host: str
    port: int
    rate: float = 2.0
    seed: int | None = None
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/London"))
    fill: bool = True
    progress: TextIO | None = field(default_factory=lambda: sys.stderr)
    progress_every: float = 5.0
    stop_event: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        self.model = HospitalModel(self.layout, random.Random(self.seed), self.tz, self.clock)
        self.stats = SimulationStats()
        self._client = MllpClient(self.host, self.port, timeout=30)

    def run(self, duration: float | None = None, count: int | None = None) -> SimulationStats:
        deadline = time.monotonic() + duration if duration else None
        next_report = time.monotonic() + self.progress_every
        self._client.connect()  # nothing listening is the caller's error, not a resend case
        try:
            if self.fill:
                for out in self.model.initial_fill():
                    if self._stopped(deadline, count):
                        return self.stats
                    self._deliver(out)
            self._report()
            interval = 1.0 / self.rate if self.rate > 0 else 0.0
            next_send = time.monotonic()
            while not self._stopped(deadline, count):
                out = self.model.step()
                if out is not None:
                    self._deliver(out)
                if time.monotonic() >= next_report:
                    self._report()
                    next_report += self.progress_every
                next_send += interval
                delay = next_send - time.monotonic()
                if delay > 0 and self.stop_event.wait(delay):
                    break
        finally:
            self._client.close()
            self._report()
        return self.stats

    def _stopped(self, deadline: float | None, count: int | None) -> bool:
        if self.stop_event.is_set():
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return True
        return count is not None and self.stats.sent >= count

    def _deliver(self, out: Outgoing) -> None:
        attempt = 0
        while not self.stop_event.is_set():
            try:
                ack = self._client.send(out.payload)
            except OSError as exc:
                attempt += 1
                self.stats.resent += 1
                self._client.close()
                wait = min(0.2 * 2**attempt, 5.0)
                log.warning("no ACK for %s (%s); resending in %.1f s", out.control_id, exc, wait)
                if self.stop_event.wait(wait):
                    return
                continue
            self.stats.sent += 1
            code = _ack_code(ack)
            self.stats.codes[code] += 1
            if code not in ("AA", "CA"):
                log.warning("%s for %s (%s)", code, out.control_id, out.description)
            return

    def _report(self) -> None:
        if self.progress is not None:
            print(f"[simulator] {self.stats.line()}", file=self.progress, flush=True)


def _ack_code(ack: bytes) -> str:
    try:
        read_header(ack)
    except ValueError:
        return "??"
    for segment in ack.split(b"\r"):
        if segment.startswith(b"MSA"):
            parts = segment.split(b"|")
            return parts[1].decode("ascii", "replace") if len(parts) > 1 else "??"
    return "??"
