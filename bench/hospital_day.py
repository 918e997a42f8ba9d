"""A compressed hospital day: 1,000 beds, 40 wards, an A&E of 300 a day, through the real doors.

The system runs split as a larger site runs it (one ``run.py mllp`` and ``--web`` ``run.py
web`` processes on PostgreSQL, board pushes through Redis). Everything reaches it the way it
would in a hospital:

- MLLP: the PAS's ADT (A&E arrivals, admissions, transfers, discharges, corrections, beds
  cleaned; integration/simulator's hospital model decides who goes where), GP orders (ORM^O01
  and OML^O21) and the laboratory's results (ORU^R01, preliminary then final). Orders go on to
  the lab and results back to the ordering practice through the outbound queue; a listener
  here plays both and counts what it receives.
- HTTP: a nurse per ward signs on with card and PIN, does a round every simulated hour (reads
  the ward's board, records observations when due and a VTE assessment for each new
  admission), as the ward's staff do at a workstation.
- Socket.IO: a board per ward plus ``--viewers`` more, signed on; each one turns the
  snapshots it is pushed into timestamped events (patient in, out, moved, observations,
  VTE alert cleared, bed status).

Measured: messages and web actions per second, send-to-board latency p50/p99 (the moment an
ADT message's bytes are sent, or a web action's request starts, to the moment each board of
the ward shows its effect), errors, lost and duplicated messages (every MSH-10 sent must be
in the journal exactly once, applied; every patient on the right board at the end, on the
boards and in the API; each observation and assessment stored once; each order and result
forwarded once), database size and each process's peak memory. Baseline in the same run: a
bare Flask-SocketIO relay timed by the same boards (bench/live_system.py).

    python bench/hospital_day.py                  # a day in 10 minutes, 2 web processes
    python bench/hospital_day.py --minutes 1 --wards 5 --viewers 10
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import random
import re
import sys
import tempfile
import threading
import time
import tomllib
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench.live_system import (  # noqa: E402
    POSTGRES_ADMIN_URL,
    Boards,
    LiveSystem,
    make_staff,
    percentile,
    run_baseline,
    staff_token,
    summary,
    temporary_postgres,
)

LARGE_LAYOUT = ROOT / "config/layouts/large_hospital.toml"
DAY = 86_400.0
TZ = ZoneInfo("Europe/London")
# One day at a 1,000-bed hospital; scaled by beds / 1,000 when fewer wards are simulated.
ADT_PER_DAY = {
    "arrival": 300,  # A&E attendances
    "admit_from_ae": 90,
    "discharge_from_ae": 200,
    "direct_admission": 110,  # elective and GP-referred
    "discharge_inpatient": 200,
    "transfer": 120,
    "update_details": 150,
    "cancel_admission": 4,
}
GP_ORDERS_PER_DAY = 400
SERVICES = [
    ("FBC", "Full blood count"),
    ("UE", "Urea and electrolytes"),
    ("LFT", "Liver function tests"),
    ("HBA1C", "HbA1c"),
    ("TSH", "Thyroid function"),
    ("CRP", "C-reactive protein"),
]
CSRF = re.compile(r'(?:name="csrf_token" value|data-csrf)="([^"]+)"')


@dataclass
class DayOptions:
    minutes: float = 10.0
    wards: int = 0  # 0: every ward of the layout
    viewers: int = 60
    web: int = 2
    database_url: str = ""  # "": a temporary PostgreSQL database
    redis_url: str = "redis://127.0.0.1:6379/0"
    layout: Path = LARGE_LAYOUT
    board_processes: int = 4
    nurses: int = 8  # nurses at a workstation at once (HTTP threads)
    obs_hours: float = 6.0  # each inpatient's observations this often
    occupancy: float = 0.85
    seed: int = 1
    baseline_seconds: float = 10.0
    keep_database: bool = False
    admin_url: str = POSTGRES_ADMIN_URL  # where the temporary database is created
    progress: TextIO | None = field(default_factory=lambda: sys.stderr)
    progress_every: float = 5.0


@dataclass
class Report:
    shape: str = ""
    wards: int = 0
    beds: int = 0
    boards: int = 0
    minutes: float = 0.0
    fill_messages: int = 0
    fill_seconds: float = 0.0
    day_seconds: float = 0.0
    hl7_sent: Counter[str] = field(default_factory=Counter)
    web_done: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    ack_ms: list[float] = field(default_factory=list)
    web_ms: list[float] = field(default_factory=list)
    adt_to_board_ms: list[float] = field(default_factory=list)
    web_to_board_ms: list[float] = field(default_factory=list)
    unseen_updates: int = 0
    baseline_ms: list[float] = field(default_factory=list)
    board_pushes: int = 0
    board_resyncs: int = 0
    lost: int = 0
    duplicated: int = 0
    journal_states: Counter[str] = field(default_factory=Counter)
    wrong_boards: list[str] = field(default_factory=list)
    record_mismatches: list[str] = field(default_factory=list)
    forwarded: Counter[str] = field(default_factory=Counter)
    forwarded_expected: Counter[str] = field(default_factory=Counter)
    database_mb: float = 0.0
    peak_memory_mb: dict[str, float] = field(default_factory=dict)

    @property
    def hl7_total(self) -> int:
        return sum(self.hl7_sent.values())

    @property
    def web_total(self) -> int:
        return sum(self.web_done.values())

    def ok(self) -> bool:
        return (
            not (self.lost or self.duplicated or self.wrong_boards or self.errors)
            and not self.record_mismatches
        )


# --- what the boards see ------------------------------------------------------------------


class WardWatcher:
    """One board: turns each pushed snapshot into what changed since the last one.

    Events: ("in", ward, hn, bed), ("out", ward, hn, None), ("bed", ward, hn, bed),
    ("obs", ward, hn, taken_at), ("vte", ward, hn, None) when the VTE alert clears,
    ("bedstatus", ward, bed, status); each with the board's index and the monotonic time.
    """

    def __init__(self, board: int, ward: str) -> None:
        self.board, self.ward = board, ward
        self.patients: dict[str, tuple[str | None, str | None, bool]] = {}
        self.listed: list[tuple[str, str | None]] = []
        self.beds: dict[str, str] = {}
        self.pushes = 0

    def on_board(self, data: dict, now: float) -> list[tuple]:
        snap = data.get("snapshot")
        if not isinstance(snap, dict):
            return []
        self.pushes += 1
        ward, b = self.ward, self.board
        events: list[tuple] = []
        seen: dict[str, tuple[str | None, str | None, bool]] = {}
        listed = []
        for p in snap.get("patients", []):
            hn = p.get("hospital_number")
            if not hn or not str(p.get("key", "")).startswith("s-"):
                continue
            news2 = p.get("news2") or {}
            vte = any(a.get("code") == "vte" for a in p.get("alerts", ()))
            seen[hn] = (p.get("bed"), news2.get("at"), vte)
            listed.append((hn, p.get("bed")))
        for hn, (bed, at, vte) in seen.items():
            old = self.patients.get(hn)
            if old is None:
                events.append(("in", ward, hn, bed, b, now))
                continue
            if old[0] != bed:
                events.append(("bed", ward, hn, bed, b, now))
            if at and old[1] != at:
                events.append(("obs", ward, hn, at, b, now))
            if old[2] and not vte:
                events.append(("vte", ward, hn, None, b, now))
        for hn in self.patients.keys() - seen.keys():
            events.append(("out", ward, hn, None, b, now))
        self.patients, self.listed = seen, listed
        for bay in snap.get("bays", []):
            for bed in bay.get("beds", []):
                code, status = bed.get("code"), bed.get("status")
                if self.beds.get(code) != status:
                    events.append(("bedstatus", ward, code, status, b, now))
                    self.beds[code] = status
        return events

    def final(self) -> dict[str, Any]:
        return {"patients": self.listed, "beds": self.beds, "pushes": self.pushes}


# --- the hospital's side: HL7 senders, nurses ---------------------------------------------


class SimClock:
    """Simulated time: a day ending now, run ``speed`` times faster than real time."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.day_start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=DAY)
        self.started: float | None = None

    def start(self) -> None:
        self.started = time.monotonic()

    def offset(self) -> float:
        return 0.0 if self.started is None else (time.monotonic() - self.started) * self.speed

    def now(self) -> datetime:
        return self.day_start + timedelta(seconds=min(self.offset(), DAY))

    def real_time_of(self, offset: float) -> float:
        assert self.started is not None
        return self.started + offset / self.speed


def hl7_time(moment: datetime) -> str:
    from integration.hl7.datatypes import format_dtm

    return format_dtm(moment, TZ)


class Orders:
    """GP orders and the laboratory's results, written as the test builders write them."""

    def __init__(self, run: str) -> None:
        self.run = run
        self.ids = itertools.count(1)

    def _msh(self, app: str, facility: str, kind: str, at: datetime) -> tuple[str, str]:
        cid = f"{app[:3]}{self.run}{next(self.ids):06d}"
        msh = f"MSH|^~\\&|{app}|{facility}|WARDBOARD|WGH|{hl7_time(at)}||{kind}|{cid}|P|2.5.1"
        return cid, msh

    @staticmethod
    def _pid(person: Any) -> str:
        return (
            f"PID|1||{person.nhs_number}^^^NHS^NH||{person.family_name}^{person.given_name}||"
            f"{person.date_of_birth:%Y%m%d}|{person.sex}"
        )

    def order(
        self,
        person: Any,
        placer: str,
        service: tuple[str, str],
        control: str,
        at: datetime,
        oml: bool,
    ) -> tuple[str, bytes]:
        kind = "OML^O21^OML_O21" if oml else "ORM^O01^ORM_O01"
        practice = person.gp_practice
        cid, msh = self._msh("GPSYS", practice, kind, at)
        orc = "|".join(["ORC", control, placer, *[""] * 18, f"{practice}^^^^^^^^^{practice}"])
        obr = f"OBR|1|{placer}||{service[0]}^{service[1]}^L|||{hl7_time(at)}"
        return cid, ("\r".join([msh, self._pid(person), orc, obr]) + "\r").encode()

    def result(
        self, person: Any, placer: str, service: tuple[str, str], status: str, at: datetime
    ) -> tuple[str, bytes]:
        cid, msh = self._msh("LAB", "WGH", "ORU^R01^ORU_R01", at)
        obr = ["OBR", "1", placer, f"L{placer}", f"{service[0]}^{service[1]}^L"]
        obr += [""] * 2 + [hl7_time(at)] + [""] * 14 + [hl7_time(at), "", "", status]
        obx = [
            "OBX|1|NM|718-7^Haemoglobin^LN||131|g/L|130-170|N",
            "OBX|2|NM|6690-2^White cells^LN||12.1|10*9/L|4.0-11.0|H",
        ]
        segments = [msh, self._pid(person), "|".join(obr), *obx]
        return cid, ("\r".join(segments) + "\r").encode()


class Downstream:
    """The lab and the GP practices' inboxes: receive what the outbound queue forwards."""

    def __init__(self) -> None:
        from integration.mllp.server import MllpServer

        self.received: Counter[tuple[str, str, str]] = Counter()
        self.lock = threading.Lock()
        self.server = MllpServer(self.receive, "127.0.0.1", 0).start()

    def receive(self, raw: bytes, _peer: str) -> bytes:
        from integration.hl7.ack import build_ack
        from integration.hl7.header import read_header

        fields = {s[:3]: s.split("|") for s in raw.decode("utf-8", "replace").split("\r") if s}
        kind = fields["MSH"][8].split("^")[0]
        placer = fields.get("OBR", [""] * 3)[2]
        status = fields["OBR"][25] if kind == "ORU" and len(fields["OBR"]) > 25 else ""
        with self.lock:
            self.received[(kind, placer, status)] += 1
        return build_ack(read_header(raw), "AA", datetime.now(UTC)).encode()

    def destinations(self, practices: list[str]) -> str:
        port = self.server.port
        text = f'[destinations.LAB]\nhost = "127.0.0.1"\nport = {port}\n'
        for code in practices:
            text += f'[destinations.{code}_INBOX]\nhost = "127.0.0.1"\nport = {port}\n'
        text += '[order_routes]\ndefault = "LAB"\n[practices]\n'
        text += "".join(f'{code} = "{code}_INBOX"\n' for code in practices)
        return text


class Nurse:
    """A ward's nurse, signed on with card and PIN on one web process."""

    def __init__(self, url: str, ward: str, card: str, pin: str) -> None:
        self.url, self.ward = url, ward
        self.http = requests.Session()
        page = self.http.get(f"{url}/signon", timeout=30).text
        match = CSRF.search(page)
        assert match, "no CSRF token on /signon"
        answer = self.http.post(
            f"{url}/signon",
            data={"csrf_token": match.group(1), "card": card, "pin": pin, "workstation": ward},
            allow_redirects=False,
            timeout=30,
        )
        if answer.status_code != 303:
            raise SystemExit(f"nurse for {ward} could not sign on: {answer.status_code}")
        match = CSRF.search(self.http.get(f"{url}/wards/{ward}", timeout=30).text)
        assert match, f"no CSRF token on /wards/{ward}"
        self.csrf = {"X-CSRFToken": match.group(1)}
        self.busy = threading.Lock()

    def board(self) -> dict:
        answer = self.http.get(f"{self.url}/api/v1/wards/{self.ward}/board", timeout=60)
        answer.raise_for_status()
        return answer.json()

    def post(self, path: str, body: dict) -> requests.Response:
        return self.http.post(f"{self.url}{path}", json=body, headers=self.csrf, timeout=60)


def observations(rng: random.Random, taken_at: datetime) -> dict[str, Any]:
    """A plausible set: mostly normal, a few unwell."""
    unwell = rng.random() < 0.1
    return {
        "taken_at": taken_at.isoformat(),
        "respiration_rate": rng.randint(20, 28) if unwell else rng.randint(12, 20),
        "spo2": rng.randint(90, 95) if unwell else rng.randint(95, 99),
        "on_oxygen": unwell and rng.random() < 0.5,
        "systolic_bp": rng.randint(90, 105) if unwell else rng.randint(105, 150),
        "pulse": rng.randint(100, 125) if unwell else rng.randint(60, 95),
        "consciousness": "A",
        "temperature": round(rng.uniform(37.9, 39.0) if unwell else rng.uniform(36.2, 37.6), 1),
    }


# --- the run --------------------------------------------------------------------------------


def reduced_layout(source: Path, wards: int, out: Path) -> Path:
    """The layout with its A&E and only its first ``wards`` inpatient wards."""
    if not wards:
        return source
    from config.layout import load_layout

    layout = load_layout(source)
    keep = {w.code for w in layout.wards if w.kind != "ward"}
    inpatient = [w.code for w in layout.wards if w.kind == "ward"][:wards]
    keep |= set(inpatient)
    data = tomllib.loads(source.read_text())
    lines = [f'name = "{data.get("name", "")}"', ""]
    for w in data["ward"]:
        if w["code"] not in keep:
            continue
        lines += ["[[ward]]"] + [
            f"{k} = {_toml(v)}" for k, v in w.items() if k != "bays"
        ]  # fmt: skip
        lines.append("bays = [" + ", ".join(_bay(b) for b in w["bays"]) + "]")
        lines.append("")
    for c in data.get("consultant", []):
        if c["home_ward"] in keep:
            lines += ["[[consultant]]"] + [f"{k} = {_toml(v)}" for k, v in c.items()] + [""]
    for p in data.get("gp_practice", []):
        lines += ["[[gp_practice]]"] + [f"{k} = {_toml(v)}" for k, v in p.items()] + [""]
    out.write_text("\n".join(lines))
    return out


def _toml(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _bay(bay: dict) -> str:
    return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in bay.items()) + " }"


class HospitalDay:
    """Drives one compressed day against a running system and checks what it did."""

    def __init__(self, opts: DayOptions, system: LiveSystem, layout: Any, report: Report) -> None:
        from integration.mllp.client import MllpClient
        from integration.simulator.hospital import HospitalModel

        self.opts, self.system, self.report = opts, system, report
        self.rng = random.Random(opts.seed)
        self.clock = SimClock(DAY / (opts.minutes * 60))
        self.model = HospitalModel(layout, random.Random(opts.seed + 1), TZ, self.clock.now)
        self.model.cleaning_seconds = (1800.0, 7200.0)  # simulated seconds
        self.model_lock = threading.Lock()
        self.orders = Orders(f"{int(time.time()) % 100000:05d}")
        self.pas = MllpClient("127.0.0.1", system.mllp_port).connect()
        self.gp = MllpClient("127.0.0.1", system.mllp_port).connect()
        self.lab = MllpClient("127.0.0.1", system.mllp_port).connect()
        self.sent_ids: list[str] = []
        # (kind, ward, key, value or None, t0) an update each board of the ward must show
        self.expect_hl7: list[tuple[str, str, str, Any, float]] = []
        self.expect_web: list[tuple[str, str, str, Any, float]] = []
        self.last_obs: dict[str, datetime] = {}
        self.vte_done: set[str] = set()  # stay keys
        self.lock = threading.Lock()
        self.orders_nw = 0
        self.results_sent = 0
        self.results_expected_forwarded: Counter[tuple[str, str, str]] = Counter()
        self.web_counts: Counter[str] = Counter()
        self.inpatient_wards = [w.code for w in layout.wards if w.kind == "ward"]
        self.fill_counts = (0, 0)

    # -- HL7 --

    def _send(self, client: Any, cid: str, raw: bytes, kind: str) -> float:
        t0 = time.monotonic()
        try:
            ack = client.send(raw)
        except OSError as exc:
            self.report.errors.append(f"{kind} {cid}: no ACK ({exc})")
            client.connect()
            return t0
        self.report.ack_ms.append((time.monotonic() - t0) * 1000)
        code = _ack_code(ack)
        if code not in ("AA", "CA"):
            self.report.errors.append(f"{kind} {cid}: ACK {code}")
        self.sent_ids.append(cid)
        self.report.hl7_sent[kind] += 1
        return t0

    def _where(self) -> dict[str, tuple[str, str | None]]:
        return {
            o.patient.hospital_number: (o.ward, o.location[2] if o.location else None)
            for o in self.model.people.values()
        }

    def adt(self, kind: str) -> bool:
        """One ADT event from the hospital model; the board updates it should cause."""
        with self.model_lock:
            before, cleaning = self._where(), set(self.model.cleaning)
            out = self.model.bed_cleaned() if kind == "cleaned" else self.model.act(kind)
            after = self._where()
        if out is None:
            if kind != "cleaned":  # no bed ready is not an event skipped
                self.report.skipped[kind] += 1
            return False
        t0 = self._send(self.pas, out.control_id, out.payload, f"ADT {kind}")
        expect = self.expect_hl7
        for hn, (ward, bed) in after.items():
            old = before.get(hn)
            if old is None or old[0] != ward:
                expect.append(("in", ward, hn, None, t0))
            elif old[1] != bed:
                expect.append(("bed", ward, hn, bed, t0))
        for hn, (ward, _bed) in before.items():
            if hn not in after or after[hn][0] != ward:
                expect.append(("out", ward, hn, None, t0))
        for ward, _bay, bed in cleaning - set(self.model.cleaning):
            expect.append(("bedstatus", ward, bed, "U", t0))
        return True

    def gp_order(self) -> None:
        person = self.model.factory.make()
        placer = f"GP{self.orders.run}{self.orders_nw + 1:05d}"
        service = self.rng.choice(SERVICES)
        cid, raw = self.orders.order(
            person, placer, service, "NW", self.clock.now(), oml=self.rng.random() < 0.3
        )
        self._send(self.gp, cid, raw, "ORM/OML")
        self.orders_nw += 1
        now = self.clock.offset()
        if self.rng.random() < 0.03:
            self.schedule(now + 1800, "cancel", (person, placer, service))
            return
        if self.rng.random() < 0.5:
            self.schedule(
                now + self.rng.uniform(3600, 3 * 3600), "result", (person, placer, service, "P")
            )
        self.schedule(
            now + self.rng.uniform(3 * 3600, 8 * 3600), "result", (person, placer, service, "F")
        )

    def gp_cancel(self, person: Any, placer: str, service: tuple[str, str]) -> None:
        cid, raw = self.orders.order(person, placer, service, "CA", self.clock.now(), oml=False)
        self._send(self.gp, cid, raw, "ORM cancel")

    def lab_result(self, person: Any, placer: str, service: tuple[str, str], status: str) -> None:
        cid, raw = self.orders.result(person, placer, service, status, self.clock.now())
        self._send(self.lab, cid, raw, "ORU")
        self.results_sent += 1
        self.results_expected_forwarded[("ORU", placer, status)] += 1

    # -- the web: a nurse's round --

    def round(self, nurse: Nurse, fill: bool = False) -> None:
        if not nurse.busy.acquire(blocking=False):
            self.report.skipped["ward round (nurse still busy)"] += 1
            return
        try:
            self._round(nurse, fill)
        except Exception as exc:  # a failed round is counted, the day goes on
            self.report.errors.append(f"round {nurse.ward}: {type(exc).__name__}: {exc}")
        finally:
            nurse.busy.release()

    def _round(self, nurse: Nurse, fill: bool) -> None:
        t0 = time.monotonic()
        snap = nurse.board()
        self.report.web_ms.append((time.monotonic() - t0) * 1000)
        self.web_counts["board read"] += 1
        now = self.clock.now()
        due = timedelta(hours=self.opts.obs_hours)
        for p in snap.get("patients", []):
            key, hn = str(p.get("key", "")), p.get("hospital_number")
            if not key.startswith("s-") or not hn or p.get("status") != "inpatient":
                continue
            stay = key[2:]
            if key not in self.vte_done:
                self._action(nurse, hn, f"/api/v1/stays/{stay}/vte-assessments", {}, "vte", None)
                self.vte_done.add(key)
            with self.lock:
                last = self.last_obs.setdefault(
                    hn, now - self.rng.uniform(0, 1) * due if fill else now
                )
            if now - last >= due:
                taken = self.clock.now().replace(microsecond=0)
                body = observations(self.rng, taken)
                if self._action(
                    nurse, hn, f"/api/v1/stays/{stay}/observations", body, "obs", taken
                ):
                    with self.lock:
                        self.last_obs[hn] = taken

    def _action(self, nurse: Nurse, hn: str, path: str, body: dict, kind: str, value: Any) -> bool:
        t0 = time.monotonic()
        answer = nurse.post(path, body)
        self.report.web_ms.append((time.monotonic() - t0) * 1000)
        if answer.status_code == 201:
            self.web_counts[kind] += 1
            self.report.web_done[kind] += 1
            self.expect_web.append((kind, nurse.ward, hn, value, t0))
            return True
        with self.model_lock:
            still_here = self._where().get(hn, ("",))[0] == nurse.ward
        if still_here:
            self.report.errors.append(
                f"{kind} {path}: HTTP {answer.status_code} {answer.text[:200]}"
            )
        else:
            self.report.skipped[f"{kind} (patient left meanwhile)"] += 1
        return False

    # -- the schedule --

    def schedule(self, offset: float, kind: str, data: Any = None) -> None:
        if offset < DAY:
            heapq.heappush(self.queue, (offset, next(self.seq), kind, data))

    def plan(self, scale: float) -> None:
        self.queue: list[tuple[float, int, str, Any]] = []
        self.seq = itertools.count()
        for kind, per_day in ADT_PER_DAY.items():
            for _ in range(max(1, round(per_day * scale))):
                self.schedule(self.rng.uniform(0, DAY), "adt", kind)
        for _ in range(max(1, round(GP_ORDERS_PER_DAY * scale))):
            self.schedule(self.rng.uniform(0, DAY), "order")
        wards = self.inpatient_wards
        for i, ward in enumerate(wards):
            start = i * 3600 / len(wards)
            for hour in range(24):
                self.schedule(start + hour * 3600, "round", ward)

    def fill(self, nurses: dict[str, Nurse], pool: ThreadPoolExecutor) -> None:
        """The hospital at the start of the day: the census, then each ward's first round."""
        t = time.monotonic()
        with self.model_lock:
            census = list(self.model.initial_fill(self.opts.occupancy, ae_patients=12))
        for out in census:
            self._send(self.pas, out.control_id, out.payload, "ADT census")
        self.report.fill_messages = len(census)
        list(pool.map(lambda n: self.round(n, fill=True), nurses.values()))
        self.report.fill_seconds = time.monotonic() - t
        self.fill_counts = (self.report.hl7_total, self.report.web_total)

    def run(self, nurses: dict[str, Nurse], pool: ThreadPoolExecutor, boards: Boards) -> None:
        self.clock.start()
        started = time.monotonic()
        next_report = started + self.opts.progress_every
        while self.queue:
            offset, _, kind, data = heapq.heappop(self.queue)
            delay = self.clock.real_time_of(offset) - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            while self.adt("cleaned"):
                pass
            if kind == "adt":
                self.adt(data)
            elif kind == "order":
                self.gp_order()
            elif kind == "cancel":
                self.gp_cancel(*data)
            elif kind == "result":
                self.lab_result(*data)
            elif kind == "round":
                pool.submit(self.round, nurses[data])
            if time.monotonic() >= next_report:
                next_report += self.opts.progress_every
                self.progress(offset, started, boards, behind=-delay)
        self.report.day_seconds = time.monotonic() - started

    def progress(self, offset: float, started: float, boards: Boards, behind: float) -> None:
        if self.opts.progress is None:
            return
        elapsed = max(time.monotonic() - started, 1e-9)
        r = self.report
        hl7 = r.hl7_total - self.fill_counts[0]
        web = r.web_total - self.fill_counts[1]
        sim = (self.clock.day_start + timedelta(seconds=offset)).astimezone(TZ)
        print(
            f"[day {offset / DAY:4.0%}] sim {sim:%H:%M} | HL7 {hl7} ({hl7 / elapsed:.1f}/s) "
            f"web {web} ({web / elapsed:.1f}/s) | board events "
            f"{len(boards.events)} | errors {len(r.errors)} | behind {max(behind, 0):.1f} s",
            file=self.opts.progress,
            flush=True,
        )

    def close(self) -> None:
        for client in (self.pas, self.gp, self.lab):
            client.close()

    def expected_boards(self) -> dict[str, Counter[tuple[str, str | None]]]:
        out: dict[str, Counter[tuple[str, str | None]]] = defaultdict(Counter)
        for hn, (ward, bed) in self._where().items():
            out[ward][(hn, bed)] += 1
        return out


def _ack_code(ack: bytes) -> str:
    for segment in ack.split(b"\r"):
        if segment.startswith(b"MSA"):
            parts = segment.split(b"|")
            return parts[1].decode("ascii", "replace") if len(parts) > 1 else "??"
    return "??"


# --- matching what was sent with what the boards showed -------------------------------------


def _same(kind: str, want: Any, got: Any) -> bool:
    if want is None:
        return True
    if kind == "obs":
        return datetime.fromisoformat(str(got)) == want
    return bool(want == got)


def board_latencies(
    expected: list[tuple[str, str, str, Any, float]],
    events: list[tuple],
    boards_of: dict[str, list[int]],
) -> tuple[list[float], int]:
    """For each expected update and each board of its ward: ms to the first matching event."""
    index: dict[tuple[str, str, str, int], list[tuple[float, Any]]] = defaultdict(list)
    for kind, ward, key, value, board, t in events:
        index[(kind, ward, key, board)].append((t, value))
    ms: list[float] = []
    unseen = 0
    for kind, ward, key, want, t0 in expected:
        for board in boards_of.get(ward, []):
            hit = next(
                (
                    t
                    for t, v in index.get((kind, ward, key, board), ())
                    if t >= t0 and _same(kind, want, v)
                ),
                None,
            )
            if hit is None:
                unseen += 1
            else:
                ms.append((hit - t0) * 1000)
    return ms, unseen


def check_records(day: HospitalDay, report: Report, database_url: str) -> None:
    """Every MSH-10 sent applied exactly once; every web action stored once; database size."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT control_id, state, count(*) FROM inbound_message GROUP BY 1, 2")
            ).all()
            counts = {
                name: conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                for name in ("observation", "vte_assessment", "clinical_order", "clinical_result")
            }
            report.database_mb = (
                conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one() / 1e6
            )
    finally:
        engine.dispose()
    in_journal: Counter[str] = Counter()
    applied: set[str] = set()
    for cid, state, n in rows:
        in_journal[cid] += n
        report.journal_states[state] += n
        if state == "applied":
            applied.add(cid)
    sent = Counter(day.sent_ids)
    report.duplicated = sum(n - 1 for n in in_journal.values() if n > 1)
    report.duplicated += sum(n - 1 for n in sent.values() if n > 1)  # a resend we made
    report.lost = sum(1 for cid in sent if cid not in applied)
    strays = set(in_journal) - set(sent)
    if strays:
        report.record_mismatches.append(f"{len(strays)} journal entries nobody sent")
    for table, want in (
        ("observation", day.web_counts["obs"]),
        ("vte_assessment", day.web_counts["vte"]),
        ("clinical_order", day.orders_nw),
        ("clinical_result", day.results_sent),
    ):
        if counts[table] != want:
            report.record_mismatches.append(f"{table}: {counts[table]} stored, {want} sent")


def check_boards(
    day: HospitalDay,
    report: Report,
    finals: dict[int, tuple[str, Any]],
    nurses: dict[str, Nurse],
) -> None:
    """Every patient on the right board, once, in the right bed: pushed boards and the API."""
    expected = day.expected_boards()
    wards = [w.code for w in day.model.layout.wards]
    check_board_finals(report, finals, expected)
    reader = next(iter(nurses.values()))
    for ward in wards:
        answer = reader.http.get(f"{reader.url}/api/v1/wards/{ward}/board", timeout=60).json()
        got = Counter(
            (p["hospital_number"], p.get("bed"))
            for p in answer["patients"]
            if str(p.get("key", "")).startswith("s-")
        )
        want = Counter(expected.get(ward, {}))
        if got != want:
            report.wrong_boards.append(f"API {ward}: {_difference(got, want)}")


def check_board_finals(
    report: Report, finals: dict[int, tuple[str, Any]], expected: dict[str, Any]
) -> None:
    """Each board's last snapshot against where the hospital put everyone: (hospital number,
    bed) pairs counted, so a patient missing, in the wrong bed or shown twice is reported."""
    for board, (ward, final) in sorted(finals.items()):
        got = Counter((hn, bed) for hn, bed in final["patients"])
        report.board_pushes += final["pushes"]
        want = Counter(expected.get(ward, {}))
        if got != want:
            report.wrong_boards.append(f"board {board} ({ward}): {_difference(got, want)}")


def _difference(got: Counter[Any], want: Counter[Any]) -> str:
    extra, missing = sorted((got - want).items()), sorted((want - got).items())
    return f"shown but not expected {extra[:4]}, expected but not shown {missing[:4]}"


def run_day(opts: DayOptions) -> Report:
    """Start the system, run the day, check it; the figures in a ``Report``."""
    from config.layout import load_layout

    report = Report(minutes=opts.minutes)
    say = (
        (lambda m: print(m, file=opts.progress, flush=True)) if opts.progress else (lambda m: None)
    )
    with tempfile.TemporaryDirectory() as tmp:
        layout_file = reduced_layout(opts.layout, opts.wards, Path(tmp) / "layout.toml")
        layout = load_layout(layout_file)
        inpatient = [w for w in layout.wards if w.kind == "ward"]
        report.wards = len(inpatient)
        report.beds = sum(len(bay.beds) for w in inpatient for bay in w.bays)
        ward_codes = [w.code for w in layout.wards]
        board_wards = ward_codes + [ward_codes[i % len(ward_codes)] for i in range(opts.viewers)]
        report.boards = len(board_wards)

        say(f"baseline: bare Socket.IO relay, {len(board_wards)} boards, 10/s")
        report.baseline_ms, _ = run_baseline(
            board_wards, 10.0, opts.baseline_seconds, opts.board_processes
        )

        downstream = Downstream()
        destinations = Path(tmp) / "destinations.toml"
        destinations.write_text(downstream.destinations([p.ods_code for p in layout.gp_practices]))
        with _database(opts) as database_url:
            report.shape = f"{opts.web} web + 1 mllp, PostgreSQL, Redis"
            say(f"system: {report.shape}; {report.wards} wards, {report.beds} beds")
            extra = {"WARDBOARD_HL7_DESTINATIONS_FILE": str(destinations)}
            system = LiveSystem(tmp, opts.web, database_url, opts.redis_url, layout_file, extra)
            system.start()
            try:
                _drive(opts, report, system, layout, tmp, database_url, downstream, say)
            finally:
                report.peak_memory_mb = system.peak_memory_mb()
                system.stop()
                downstream.server.stop()
    return report


def _database(opts: DayOptions):  # type: ignore[no-untyped-def]
    from contextlib import nullcontext

    if opts.database_url:
        return nullcontext(opts.database_url)
    return temporary_postgres(opts.admin_url, keep=opts.keep_database)


def _drive(opts, report, system, layout, tmp, database_url, downstream, say) -> None:  # type: ignore[no-untyped-def]
    inpatient = [w.code for w in layout.wards if w.kind == "ward"]
    staff = [(f"nurse{w}", "nurse", f"77{i:03d}", "2468") for i, w in enumerate(inpatient)]
    make_staff(tmp, database_url, staff)
    auth = {"signon": staff_token(tmp, database_url)}
    codes = [w.code for w in layout.wards]
    board_wards = codes + [codes[i % len(codes)] for i in range(opts.viewers)]
    boards = Boards(system.urls, board_wards, opts.board_processes, auth, WardWatcher)
    boards_of: dict[str, list[int]] = defaultdict(list)
    for index, ward in enumerate(board_wards):
        boards_of[ward].append(index)
    nurses = {
        ward: Nurse(system.urls[i % len(system.urls)], ward, card, pin)
        for i, (ward, (_u, _r, card, pin)) in enumerate(zip(inpatient, staff, strict=True))
    }
    day = HospitalDay(opts, system, layout, report)
    scale = report.beds / 1000
    with ThreadPoolExecutor(max_workers=opts.nurses) as pool:
        say(f"fill: the census ({report.beds} beds at {opts.occupancy:.0%}) and first rounds")
        day.fill(nurses, pool)
        say(f"fill: {report.fill_messages} ADT and {report.web_total} web actions in "
            f"{report.fill_seconds:.0f} s; the day starts ({opts.minutes:g} minutes)")  # fmt: skip
        fill_web = Counter(report.web_done)
        fill_hl7 = Counter(report.hl7_sent)
        day.plan(scale)
        day.run(nurses, pool, boards)
    day.close()
    say("day done; settling (boards, outbound queue)")
    got: Counter[tuple[str, str, str]] = Counter()
    forwarded_orders = forwarded_results = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with downstream.lock:
            got = Counter(downstream.received)
        forwarded_orders = sum(n for k, n in got.items() if k[0] in ("ORM", "OML"))
        forwarded_results = sum(n for k, n in got.items() if k[0] == "ORU")
        if forwarded_orders >= day.orders_nw and forwarded_results >= day.results_sent:
            break
        time.sleep(1)
    time.sleep(3)
    finals = boards.collect()
    report.board_resyncs = boards.resyncs
    report.hl7_sent -= fill_hl7
    report.web_done -= fill_web
    report.adt_to_board_ms, unseen_hl7 = board_latencies(day.expect_hl7, boards.events, boards_of)
    report.web_to_board_ms, unseen_web = board_latencies(day.expect_web, boards.events, boards_of)
    report.unseen_updates = unseen_hl7 + unseen_web
    report.forwarded = Counter(
        {"orders": forwarded_orders, "results": forwarded_results,
         "duplicates": sum(n - 1 for n in got.values() if n > 1)}
    )  # fmt: skip
    report.forwarded_expected = Counter({"orders": day.orders_nw, "results": day.results_sent})
    if forwarded_orders != day.orders_nw or forwarded_results != day.results_sent:
        report.record_mismatches.append(
            f"forwarded {forwarded_orders}/{day.orders_nw} orders, "
            f"{forwarded_results}/{day.results_sent} results"
        )
    check_boards(day, report, finals, nurses)
    check_records(day, report, database_url)


def print_report(r: Report, out: TextIO = sys.stdout) -> None:
    def line(text: str = "") -> None:
        print(text, file=out)

    day_s = max(r.day_seconds, 1e-9)
    line(f"system: {r.shape}; {r.wards} wards, {r.beds} beds, {r.boards} boards connected")
    line(
        f"a day in {r.minutes:g} min (x{DAY / (r.minutes * 60):.0f}); day ran {r.day_seconds:.0f} s"
    )
    line(f"fill (census + first rounds): {r.fill_messages} ADT in {r.fill_seconds:.0f} s")
    hl7 = ", ".join(f"{k} {n}" for k, n in sorted(r.hl7_sent.items()))
    web = ", ".join(f"{k} {n}" for k, n in sorted(r.web_done.items()))
    line(f"HL7 in the day: {r.hl7_total} ({r.hl7_total / day_s:.1f}/s): {hl7}")
    line(f"web actions in the day: {r.web_total} ({r.web_total / day_s:.1f}/s): {web}")
    line(f"board pushes received: {r.board_pushes} ({r.board_pushes / day_s:.1f}/s over the day)")
    line(f"board resyncs (a patch that did not apply, board fetched whole): {r.board_resyncs}")
    line(summary("baseline socket relay", r.baseline_ms, 30))
    line(summary("MLLP ACK (fill + day)", r.ack_ms, 30))
    line(summary("web request (fill + day)", r.web_ms, 30))
    line(summary("ADT send -> board (day)", r.adt_to_board_ms, 30))
    line(summary("web -> board (fill + day)", r.web_to_board_ms, 30))
    if r.baseline_ms and r.adt_to_board_ms:
        b50, b99 = percentile(r.baseline_ms, 50), percentile(r.baseline_ms, 99)
        line(
            f"ratio to baseline (ADT -> board): p50 {percentile(r.adt_to_board_ms, 50) / b50:.0f}x,"
            f" p99 {percentile(r.adt_to_board_ms, 99) / b99:.0f}x"
        )
    line(f"board updates never seen as such (coalesced or missed): {r.unseen_updates}")
    line(f"errors: {len(r.errors)}" + "".join(f"\n  {e}" for e in r.errors[:10]))
    line(f"lost: {r.lost}  duplicated: {r.duplicated}  journal: {dict(r.journal_states)}")
    line(
        f"forwarded: orders {r.forwarded['orders']}/{r.forwarded_expected['orders']}, results "
        f"{r.forwarded['results']}/{r.forwarded_expected['results']}, "
        f"duplicate deliveries {r.forwarded['duplicates']}"
    )
    line(
        f"boards wrong at the end: {len(r.wrong_boards)}"
        + "".join(f"\n  {w}" for w in r.wrong_boards[:10])
    )
    line(
        f"record mismatches: {len(r.record_mismatches)}"
        + "".join(f"\n  {m}" for m in r.record_mismatches)
    )
    skipped = ", ".join(f"{k} {n}" for k, n in sorted(r.skipped.items()) if n)
    line(f"events the hospital's state did not allow (skipped): {skipped or 'none'}")
    line(f"database size: {r.database_mb:.0f} MB")
    mem = ", ".join(f"{k} {v:.0f} MB" for k, v in r.peak_memory_mb.items())
    line(f"peak memory (RSS high-water, with children): {mem}")
    line("RESULT: " + ("OK, nothing lost or duplicated" if r.ok() else "PROBLEMS, see above"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    d = DayOptions()
    parser.add_argument("--minutes", type=float, default=d.minutes, help="the day lasts this long")
    parser.add_argument("--wards", type=int, default=0, help="simulate only the first N wards")
    parser.add_argument("--viewers", type=int, default=d.viewers, help="boards beyond one a ward")
    parser.add_argument("--web", type=int, default=d.web, help="run.py web processes")
    parser.add_argument("--database-url", default="", help="default: a temporary PostgreSQL db")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--redis-url", default=d.redis_url)
    parser.add_argument("--layout", type=Path, default=d.layout)
    parser.add_argument("--board-processes", type=int, default=d.board_processes)
    parser.add_argument("--nurses", type=int, default=d.nurses, help="nurses at work at once")
    parser.add_argument("--obs-hours", type=float, default=d.obs_hours)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--baseline-seconds", type=float, default=d.baseline_seconds)
    args = parser.parse_args()
    opts = DayOptions(
        minutes=args.minutes,
        wards=args.wards,
        viewers=args.viewers,
        web=args.web,
        database_url=args.database_url,
        keep_database=args.keep_database,
        redis_url=args.redis_url,
        layout=args.layout,
        board_processes=args.board_processes,
        nurses=args.nurses,
        obs_hours=args.obs_hours,
        seed=args.seed,
        baseline_seconds=args.baseline_seconds,
    )
    report = run_day(opts)
    print_report(report)
    sys.exit(0 if report.ok() else 1)


if __name__ == "__main__":
    main()
