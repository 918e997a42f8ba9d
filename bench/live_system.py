"""The running system and its boards, shared by the benchmarks that drive it end to end.

``LiveSystem`` starts Wardboard as a site runs it (``run.py serve``, or one ``run.py mllp`` and
N ``run.py web`` processes sharing PostgreSQL and Redis); ``Boards`` connects python-socketio
board clients in worker processes, each board handing what it sees to a *watcher* class that
turns pushed snapshots into timestamped events. ``run_baseline`` measures the same boards
against a bare Flask-SocketIO relay, the floor every send-to-board figure is compared with.

Times are ``time.monotonic()``, which on Linux is one clock for every process on the machine,
so a send time taken here and a receive time taken in a board process can be subtracted.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEMO_LAYOUT = ROOT / "config/layouts/demo_hospital.toml"
NAMESPACE = "/board"
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(name: str, ms: list[float], width: int = 24) -> str:
    if not ms:
        return f"{name:<{width}} no samples"
    return (
        f"{name:<{width}} n={len(ms):<6} p50={percentile(ms, 50):7.1f} ms  "
        f"p95={percentile(ms, 95):7.1f} ms  p99={percentile(ms, 99):7.1f} ms  "
        f"max={max(ms):7.1f} ms  mean={statistics.fmean(ms):6.1f} ms"
    )


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not come up")


def wait_mllp(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"MLLP listener on {port} did not come up") from None
            time.sleep(0.2)


# --- a database of its own ---------------------------------------------------------------


@contextmanager
def temporary_postgres(admin_url: str = POSTGRES_ADMIN_URL, keep: bool = False) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one run, dropped afterwards unless ``keep``."""
    from sqlalchemy import create_engine, make_url, text

    admin = create_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"wardboard_bench_{os.getpid()}_{int(time.time())}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- the system --------------------------------------------------------------------------


def peak_rss_mb(pid: int) -> float:
    """The process's high-water resident set (VmHWM), in MB; 0 once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children_of(pid: int) -> list[int]:
    """Every descendant of ``pid`` (gunicorn's workers under a ``run.py web`` master)."""
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                kids = [int(k) for k in task.read_text().split()]
            except OSError:
                continue
            found += kids
            frontier += kids
    return found


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads) so far; 0 once gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_cpu() -> tuple[float, float]:
    """CPU seconds every core has spent busy since boot, and of those, stolen: a virtual
    machine's cores held up by its host (/proc/stat's first line)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq + steal) / tick, steal / tick


def cpu_use(groups: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far by group of pids, PostgreSQL's and Redis's servers by name, and
    the whole machine's busy time: two readings subtracted say where a run's cores went
    (``"machine"`` minus the rest is anything else running, a shared machine's noise)."""
    out = {name: sum(_cpu_of(pid) for pid in pids) for name, pids in groups.items()}
    by_name = {"postgres": 0.0, "redis-server": 0.0}
    for stat in Path("/proc").glob("[0-9]*/comm"):
        try:
            comm = stat.read_text().strip()
        except OSError:
            continue
        if comm in by_name:
            by_name[comm] += _cpu_of(int(stat.parent.name))
    out.update(by_name)
    out["machine"], out["steal"] = _machine_cpu()
    return out


def cpu_table(before: dict[str, float], after: dict[str, float], seconds: float) -> str:
    """One line: each group's share of a core over the window, and what else ran."""
    used = {k: after[k] - before.get(k, 0.0) for k in after}
    known = sum(v for k, v in used.items() if k not in ("machine", "steal"))
    parts = [f"{k} {v / seconds:.2f}" for k, v in used.items() if k not in ("machine", "steal")]
    parts.append(f"other {(used['machine'] - known - used['steal']) / seconds:.2f}")
    parts.append(f"stolen by the host {used['steal'] / seconds:.3f}")
    return f"cores busy over {seconds:.0f} s: {used['machine'] / seconds:.2f} = " + ", ".join(parts)


class LiveSystem:
    """``run.py serve`` (split=0) or one ``run.py mllp`` and ``split`` ``run.py web``.

    Split processes share the database and a Redis channel, as a larger site runs them
    (docs/OPERATIONS.md). Each process logs to a file in ``instance``; ``extra_env`` adds
    settings (a destinations file, thread counts).
    """

    def __init__(
        self,
        instance: str | Path,
        split: int,
        database_url: str,
        redis_url: str = "",
        layout: Path = DEMO_LAYOUT,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.instance = Path(instance)
        self.database_url = database_url
        self.mllp_port = free_port()
        self.env = {
            **os.environ,
            "WARDBOARD_INSTANCE_PATH": str(self.instance),
            "WARDBOARD_MLLP_PORT": str(self.mllp_port),
            "WARDBOARD_LAYOUT_FILE": str(layout),
            "WARDBOARD_SCHEDULER_ENABLED": "false",
            "WARDBOARD_LOG_LEVEL": "WARNING",
            "WARDBOARD_SECRET_KEY": "bench-secret",
            "WARDBOARD_COOKIE_SECURE": "false",
            "WARDBOARD_DATABASE_URL": database_url,
            **(extra_env or {}),
        }
        self.split = split
        self.redis_url = redis_url
        self.urls: list[str] = []
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[Any] = []

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = (self.instance / f"{name}.log").open("wb")
        self._logs.append(log)
        self.procs[name] = subprocess.Popen(
            [sys.executable, str(ROOT / "run.py"), *args],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def start(self) -> LiveSystem:
        run = [sys.executable, str(ROOT / "run.py")]
        if not self.split:
            port = free_port()
            self._spawn("serve", ["serve"], {**self.env, "WARDBOARD_HTTP_PORT": str(port)})
            self.urls = [f"http://127.0.0.1:{port}"]
        else:
            self.env["WARDBOARD_REDIS_URL"] = self.redis_url
            self.env["WARDBOARD_REDIS_CHANNEL"] = f"bench-{os.getpid()}"
            subprocess.run(
                [*run, "db", "upgrade"], env=self.env, check=True, capture_output=True, cwd=ROOT
            )
            self._spawn("mllp", ["mllp"], self.env)
            for i in range(self.split):
                port = free_port()
                self._spawn(f"web{i + 1}", ["web", "--port", str(port)], self.env)
                self.urls.append(f"http://127.0.0.1:{port}")
        try:
            for url in self.urls:
                wait_http(f"{url}/healthz")
            wait_mllp(self.mllp_port)
        except SystemExit:
            self.stop()
            for name in self.procs:
                print(f"--- {name} log ---\n{self.log(name)}", file=sys.stderr)
            raise
        return self

    def log(self, name: str) -> str:
        path = self.instance / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def peak_memory_mb(self) -> dict[str, float]:
        """Peak RSS of each process, its descendants (gunicorn workers) included."""
        out: dict[str, float] = {}
        for name, proc in self.procs.items():
            pids = [proc.pid, *children_of(proc.pid)]
            out[name] = sum(peak_rss_mb(pid) for pid in pids)
        return out

    def pids(self) -> dict[str, list[int]]:
        """Each process's pid and its descendants' (gunicorn workers), by name."""
        return {name: [p.pid, *children_of(p.pid)] for name, p in self.procs.items()}

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self._logs:
            log.close()
        self._logs = []


def make_staff(
    instance: str | Path, database_url: str, people: list[tuple[str, str, str, str]]
) -> None:
    """Add staff (username, role, card, PIN) through the product's own account code."""
    from config.bootstrap import bootstrap
    from config.settings import Settings
    from whiteboard.auth import accounts

    settings = Settings(
        instance_path=Path(instance), database_url=database_url, board_push_enabled=False
    )
    services = bootstrap(settings)
    try:
        with services.uow_factory() as uow:
            for username, role, card, pin in people:
                accounts.add_user(uow.session, username, role, card_number=card, pin=pin)
            uow.commit()
    finally:
        services.stop()


def staff_token(instance: str | Path, database_url: str = "") -> str:
    """Boards must be signed on: one member of staff, signed on, for every board client."""
    from config.bootstrap import bootstrap
    from config.db import utcnow
    from config.settings import Settings
    from whiteboard.auth import accounts

    settings = Settings(
        instance_path=Path(instance), database_url=database_url, board_push_enabled=False
    )
    services = bootstrap(settings)
    try:
        with services.uow_factory() as uow:
            user = accounts.add_user(uow.session, "bench", "nurse", card_number="1", pin="1234")
            _signon, token = accounts.open_signon(uow.session, user, "card", "bench", utcnow())
            uow.commit()
    finally:
        services.stop()
    return token


# --- the boards: worker processes of python-socketio clients -----------------------------


class MarkerWatcher:
    """Records the first time each BENCH…/PING… marker patient appears on this board."""

    def __init__(self, board: int, ward: str) -> None:
        self.board, self.ward = board, ward
        self.first: set[str] = set()

    def on_board(self, data: dict, now: float) -> list[tuple]:
        events = []
        for p in data.get("snapshot", {}).get("patients", []):
            name = p.get("display_name", "")
            if name.startswith("BENCH") or name.startswith("PING"):
                marker = name.split(",")[0]
                if marker not in self.first:
                    self.first.add(marker)
                    events.append((marker, self.board, now))
        return events

    def final(self) -> Any:
        return None


def trace_resyncs(client: Any, follower: Any, board: int, log: list[str]) -> None:
    """Keep a board's last few events; when a patch does not apply, log what it had seen
    (event, version, digest or base, monotonic time), to tell a lost push from a late one."""
    seen: deque[str] = deque(maxlen=6)
    handlers = client.handlers[NAMESPACE]
    on_board, on_patch = handlers["board"], handlers["board_patch"]

    def whole(payload: dict) -> None:
        snap = payload.get("snapshot", {})
        seen.append(
            f"board v{payload.get('version')} {str(snap.get('digest'))[:8]} @{time.monotonic():.3f}"
        )
        on_board(payload)

    def patch(payload: dict) -> None:
        had = follower.snapshot.get("digest") if follower.snapshot else None
        seen.append(
            f"patch v{payload.get('version')} base {str(payload.get('base'))[:8]} "
            f"@{time.monotonic():.3f}"
        )
        on_patch(payload)
        if had != payload.get("base"):
            ward = payload.get("ward")
            log.append(f"board {board} {ward} had {str(had)[:8]}: " + "; ".join(seen))

    handlers["board"], handlers["board_patch"] = whole, patch


def record_gc_pauses(min_ms: float = 5.0) -> list[tuple[float, float, int]]:
    """Record this process's garbage-collector pauses of ``min_ms`` or more as (monotonic
    start, ms, generation): a pause in a board process delays every board it holds, and
    would be counted as the system's latency unless it is seen."""
    import gc

    pauses: list[tuple[float, float, int]] = []
    started = [0.0]

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.monotonic()
        else:
            ms = (time.monotonic() - started[0]) * 1000
            if ms >= min_ms:
                pauses.append((started[0], ms, info["generation"]))

    gc.callbacks.append(callback)
    return pauses


def _flush(pending: deque[tuple], out: Any) -> None:
    """Hand the events seen since the last flush to the parent, in one message."""
    batch = []
    while pending:
        batch.append(pending.popleft())
    if batch:
        out.put(("events", batch))


def _report_end(  # type: ignore[no-untyped-def]
    out, pending, followers, resync_log, gc_pauses, watchers
) -> None:
    """A board process's last messages: its remaining events, resyncs, GC pauses, finals."""
    _flush(pending, out)
    out.put(("resyncs", sum(f.resyncs for f in followers)))
    out.put(("resync_log", resync_log))
    out.put(("gc", list(gc_pauses)))
    out.put(("final", [(w.board, w.ward, w.final()) for w in watchers]))
    out.put(("done", None))


def board_worker(url, boards, watcher_cls, auth, ready, stop, out) -> None:  # type: ignore[no-untyped-def]
    """Connect ``boards`` [(index, ward)] to ``url``; stream the watchers' events to ``out``."""
    import socketio

    from whiteboard.board.patch import follow_board

    pending: deque[tuple] = deque()
    resync_log: list[str] = []
    gc_pauses = record_gc_pauses()
    watchers = []
    clients = []
    followers = []
    for index, ward in boards:
        watcher = watcher_cls(index, ward)
        watchers.append(watcher)

        def on_board(data: dict, watcher: Any = watcher) -> None:
            pending.extend(watcher.on_board(data, time.monotonic()))

        c = socketio.Client(reconnection=False)
        followers.append(follow_board(c, on_board, NAMESPACE))
        trace_resyncs(c, followers[-1], index, resync_log)
        c.connect(url, namespaces=[NAMESPACE], transports=["websocket"], wait_timeout=30, auth=auth)
        c.emit("join", {"ward": ward}, namespace=NAMESPACE)
        clients.append(c)
    ready.put(len(clients))

    while not stop.wait(0.5):
        _flush(pending, out)
    for c in clients:
        c.disconnect()
    _report_end(out, pending, followers, resync_log, gc_pauses, watchers)


def async_board_worker(url, boards, watcher_cls, auth, ready, stop, out) -> None:  # type: ignore[no-untyped-def]
    """``board_worker`` with python-socketio's asyncio client: every board of the process on
    one event loop, rather than two threads per board (the reader and the writer).

    A board here stands for a browser on its own machine. With threads, a push to a ward's
    100 boards woke 200 threads in four processes that took turns at their interpreter's
    lock, on the cores the system under test runs on: the board processes used more CPU than
    every Wardboard process together, and the last board of a push saw it tens of
    milliseconds after the first, time the benchmark counted as the system's. One loop per
    process handles each push as a chain of callbacks. What a board does with a push is the
    same: ``BoardFollower`` keeps its copy, a patch that does not apply asks for the whole
    board (``join``), events are handled in arrival order.
    """
    import asyncio

    asyncio.run(_async_boards(url, boards, watcher_cls, auth, ready, stop, out))


async def _async_boards(url, boards, watcher_cls, auth, ready, stop, out) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    import socketio

    from whiteboard.board.patch import BoardFollower

    pending: deque[tuple] = deque()
    resync_log: list[str] = []
    gc_pauses = record_gc_pauses()
    watchers, clients, followers = [], [], []
    loop = asyncio.get_running_loop()
    resyncing: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks
    for index, ward in boards:
        watcher = watcher_cls(index, ward)
        follower = BoardFollower()
        client = socketio.AsyncClient(reconnection=False)
        seen: deque[str] = deque(maxlen=6)  # for the resync log, as ``trace_resyncs``

        def on_board(payload: dict, watcher=watcher, follower=follower, seen=seen) -> None:  # type: ignore[no-untyped-def]
            snap = payload.get("snapshot", {})
            now = time.monotonic()
            seen.append(f"board v{payload.get('version')} {str(snap.get('digest'))[:8]} @{now:.3f}")
            follower.on_board(payload)
            pending.extend(watcher.on_board(payload, now))

        def on_patch(  # type: ignore[no-untyped-def]
            payload: dict, watcher=watcher, follower=follower, seen=seen, client=client,
            index=index,
        ) -> None:  # fmt: skip
            now = time.monotonic()
            seen.append(
                f"patch v{payload.get('version')} base {str(payload.get('base'))[:8]} @{now:.3f}"
            )
            had = follower.snapshot.get("digest") if follower.snapshot else None
            snapshot = follower.on_patch(payload)
            if snapshot is not None:
                ward, version = payload["ward"], payload["version"]
                whole = {"ward": ward, "version": version, "snapshot": snapshot}
                pending.extend(watcher.on_board(whole, now))
                return
            resync_log.append(
                f"board {index} {payload.get('ward')} had {str(had)[:8]}: " + "; ".join(seen)
            )
            if follower.resync_due():
                join = client.emit("join", {"ward": payload["ward"]}, namespace=NAMESPACE)
                resyncing.add(task := loop.create_task(join))
                task.add_done_callback(resyncing.discard)

        client.on("board", on_board, namespace=NAMESPACE)
        client.on("board_patch", on_patch, namespace=NAMESPACE)
        await client.connect(
            url, namespaces=[NAMESPACE], transports=["websocket"], wait_timeout=30, auth=auth
        )
        await client.emit("join", {"ward": ward}, namespace=NAMESPACE)
        watchers.append(watcher)
        followers.append(follower)
        clients.append(client)
    ready.put(len(clients))

    while not stop.is_set():
        await asyncio.sleep(0.5)
        _flush(pending, out)
    for client in clients:
        await client.disconnect()
    _report_end(out, pending, followers, resync_log, gc_pauses, watchers)


class Boards:
    """Board clients for ``wards`` (one board per entry), spread round-robin over ``urls``.

    Events arrive while the run goes on (``events``, in arrival order); ``collect`` stops the
    boards and returns every board's ``final()`` keyed by board index.
    """

    def __init__(
        self,
        urls: str | list[str],
        wards: list[str],
        processes: int,
        auth: dict | None = None,
        watcher: type = MarkerWatcher,
        clients: str = "async",
    ) -> None:
        """``clients``: "async" (``async_board_worker``) or "threads" (``board_worker``, the
        clients of the figures before 2026-12-01 late night)."""
        worker = {"async": async_board_worker, "threads": board_worker}[clients]
        ctx = mp.get_context("spawn")
        self.ready, self.out, self.stop = ctx.Queue(), ctx.Queue(), ctx.Event()
        urls = [urls] if isinstance(urls, str) else urls
        processes = max(1, min(max(processes, len(urls)), len(wards)))
        self.wards = wards
        self.per_ward = {w: wards.count(w) for w in dict.fromkeys(wards)}
        boards = list(enumerate(wards))
        chunks = [boards[i::processes] for i in range(processes)]
        self.procs = [
            ctx.Process(
                target=worker,
                args=(
                    urls[k % len(urls)], chunk, watcher, auth, self.ready, self.stop, self.out
                ),
                daemon=True,
            )
            for k, chunk in enumerate(chunks)
            if chunk
        ]  # fmt: skip
        self.events: list[tuple] = []
        self.finals: dict[int, tuple[str, Any]] = {}
        self.resyncs = 0  # patches that did not apply, so the board was fetched whole again
        self.resync_log: list[str] = []  # what each such board had seen before (trace_resyncs)
        self.gc_pauses: list[tuple[float, float, int]] = []  # (start, ms, generation)
        self._done = 0
        self._lock = threading.Lock()
        for p in self.procs:
            p.start()
        connected = 0
        for _ in self.procs:
            connected += self.ready.get(timeout=180)
            print(f"  boards connected: {connected}/{len(wards)}", file=sys.stderr, flush=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while self._done < len(self.procs):
            try:
                kind, payload = self.out.get(timeout=1)
            except queue.Empty:
                if not any(p.is_alive() for p in self.procs):
                    return
                continue
            with self._lock:
                if kind == "events":
                    self.events.extend(payload)
                elif kind == "resyncs":
                    self.resyncs += payload
                elif kind == "resync_log":
                    self.resync_log += payload
                elif kind == "gc":
                    self.gc_pauses += payload
                elif kind == "final":
                    for board, ward, final in payload:
                        self.finals[board] = (ward, final)
                else:
                    self._done += 1

    def snapshot_events(self) -> list[tuple]:
        with self._lock:
            return list(self.events)

    def collect(self) -> dict[int, tuple[str, Any]]:
        self.stop.set()
        self._reader.join(timeout=120)
        for p in self.procs:
            p.join(timeout=30)
        return self.finals


# --- the baseline: Socket.IO alone --------------------------------------------------------


def serve_baseline(port: int) -> None:
    from flask import Flask
    from flask_socketio import SocketIO, emit, join_room

    app = Flask(__name__)
    sio = SocketIO(app, async_mode="threading")

    @sio.on("join", namespace=NAMESPACE)
    def join(data: dict) -> None:
        join_room(f"ward:{data['ward']}")
        emit("board", {"snapshot": {"patients": []}})

    @sio.on("relay", namespace=NAMESPACE)
    def relay(data: dict) -> None:
        sio.emit("board", data["payload"], to=f"ward:{data['ward']}", namespace=NAMESPACE)

    sio.run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True, log_output=False)


def paced(total: int, rate: float, label: str, send: Callable[[int], tuple[str, float]]) -> dict:
    sent: dict[str, float] = {}
    started = time.monotonic()
    for i in range(total):
        marker, t0 = send(i)
        sent[marker] = t0
        time.sleep(max(0.0, started + (i + 1) / rate - time.monotonic()))
        if (i + 1) % max(1, int(rate * 5)) == 0:
            print(f"  {label}: sent {i + 1}/{total}", file=sys.stderr, flush=True)
    return sent


def marker_latencies(
    sent: dict[str, float],
    events: list[tuple],
    per_ward: dict[str, int],
    ward_of: dict[str, str],
) -> tuple[list[float], int]:
    """Send-to-board ms for every (marker, board) seen, and how many were never seen."""
    seen: dict[str, list[float]] = {}
    for marker, _board, t in events:
        seen.setdefault(marker, []).append(t)
    ms, missing = [], 0
    for marker, t0 in sent.items():
        times = seen.get(marker, [])
        ms += [(t - t0) * 1000 for t in times]
        missing += per_ward[ward_of[marker]] - len(times)
    return ms, missing


def run_baseline(
    wards: list[str], rate: float, seconds: float, processes: int, clients: str = "async"
) -> tuple[list[float], int]:
    """A bare Flask-SocketIO relay: a sender emits a marker to a ward's room; the boards of
    that ward time it as they time the real system's board events."""
    import socketio

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-baseline", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/socket.io/?EIO=4&transport=polling")
        boards = Boards(url, wards, processes, clients=clients)
        sender = socketio.Client()
        sender.connect(url, namespaces=[NAMESPACE], transports=["websocket"], wait_timeout=30)
        time.sleep(1)
        targets = list(boards.per_ward)
        ward_of: dict[str, str] = {}

        def send(i: int) -> tuple[str, float]:
            ward = targets[i % len(targets)]
            marker = f"PING{i:06d}"
            ward_of[marker] = ward
            payload = {"snapshot": {"patients": [{"display_name": f"{marker}, x"}]}}
            t0 = time.monotonic()
            sender.emit("relay", {"ward": ward, "payload": payload}, namespace=NAMESPACE)
            return marker, t0

        sent = paced(int(rate * seconds), rate, "baseline", send)
        time.sleep(2)
        sender.disconnect()
        boards.collect()
        return marker_latencies(sent, boards.snapshot_events(), boards.per_ward, ward_of)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__" and sys.argv[1:2] == ["--serve-baseline"]:
    serve_baseline(int(sys.argv[2]))
