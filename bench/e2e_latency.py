"""Send-to-board latency: N Socket.IO boards connected, M ADT messages per second over MLLP.

The system runs as it does in production (`python run.py serve`, its own process, SQLite);
the boards are python-socketio clients in worker processes, joined to the wards; a sender
admits patients over MLLP at a fixed rate. For each admission we time from the moment its
bytes are sent to the moment each board of that ward receives the board event showing the
new patient. Discharges keep the wards from filling up.

Baseline, in the same run: a bare Flask-SocketIO server (same server stack, no HL7, no
database) that relays a marker to a ward's room; the same boards time it the same way.

    python bench/e2e_latency.py --boards 100 --rate 50 --seconds 30
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LAYOUT = ROOT / "config/layouts/demo_hospital.toml"
WARDS = ["AMU", "W4", "W6", "W10", "W12"]
NAMESPACE = "/board"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(name: str, ms: list[float]) -> str:
    if not ms:
        return f"{name:<24} no samples"
    return (
        f"{name:<24} n={len(ms):<6} p50={percentile(ms, 50):7.1f} ms  "
        f"p95={percentile(ms, 95):7.1f} ms  p99={percentile(ms, 99):7.1f} ms  "
        f"max={max(ms):7.1f} ms  mean={statistics.fmean(ms):6.1f} ms"
    )


# --- the baseline server: Socket.IO alone -------------------------------------------------


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


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not come up")


# --- the boards: worker processes of python-socketio clients -----------------------------


def board_worker(url: str, wards: list[str], auth, ready, stop, results) -> None:  # type: ignore[no-untyped-def]
    import socketio

    seen: list[tuple[str, int, float]] = []  # (marker, board, monotonic time)
    clients = []
    for i, ward in enumerate(wards):
        first: dict[str, float] = {}

        def on_board(data: dict, board: int = i, first: dict = first) -> None:
            now = time.monotonic()
            for p in data.get("snapshot", {}).get("patients", []):
                name = p.get("display_name", "")
                if name.startswith("BENCH") or name.startswith("PING"):
                    marker = name.split(",")[0]
                    if marker not in first:
                        first[marker] = now
                        seen.append((marker, board, now))

        c = socketio.Client(reconnection=False)
        c.on("board", on_board, namespace=NAMESPACE)
        c.connect(url, namespaces=[NAMESPACE], transports=["websocket"], wait_timeout=30, auth=auth)
        c.emit("join", {"ward": ward}, namespace=NAMESPACE)
        clients.append(c)
    ready.put(len(clients))
    stop.wait()
    for c in clients:
        c.disconnect()
    results.put(seen)


class Boards:
    """``n`` boards spread over the wards and, round-robin by client process, over ``urls``."""

    def __init__(
        self, urls: str | list[str], n: int, processes: int, auth: dict | None = None
    ) -> None:
        ctx = mp.get_context("spawn")
        self.ready, self.results, self.stop = ctx.Queue(), ctx.Queue(), ctx.Event()
        urls = [urls] if isinstance(urls, str) else urls
        processes = max(processes, len(urls))
        wards = [WARDS[i % len(WARDS)] for i in range(n)]
        self.per_ward = {w: wards.count(w) for w in WARDS}
        chunks = [wards[i::processes] for i in range(processes)]
        self.procs = [
            ctx.Process(
                target=board_worker,
                args=(urls[k % len(urls)], chunk, auth, self.ready, self.stop, self.results),
            )
            for k, chunk in enumerate(chunks)
            if chunk
        ]
        for p in self.procs:
            p.start()
        connected = 0
        for _ in self.procs:
            connected += self.ready.get(timeout=120)
            print(f"  boards connected: {connected}/{n}", file=sys.stderr, flush=True)

    def collect(self) -> dict[str, list[float]]:
        self.stop.set()
        by_marker: dict[str, list[float]] = {}
        for _ in self.procs:
            for marker, _board, t in self.results.get(timeout=120):
                by_marker.setdefault(marker, []).append(t)
        for p in self.procs:
            p.join(timeout=30)
        return by_marker


# --- the senders -------------------------------------------------------------------------


def admission(i: int, ward: str, bed: str) -> bytes:
    return (
        f"MSH|^~\\&|BENCH|WGH|WARDBOARD|WGH|20261122090000||ADT^A01^ADT_A01|B{i}|P|2.5.1\r"
        f"EVN|A01|20261122090000\r"
        f"PID|1||BH{i:07d}^^^WGH^MR||BENCH{i:06d}^Test||19600101|F\r"
        f"PV1|1|I|{ward}^^{bed}||||C4821937^OKAFOR^Adaeze^^^Dr|||||||||||BV{i}\r"
    ).encode()


def discharge(i: int, ward: str, bed: str) -> bytes:
    return (
        admission(i, ward, bed)
        .replace(b"ADT^A01", b"ADT^A03")
        .replace(b"EVN|A01", b"EVN|A03")
        .replace(f"|B{i}|".encode(), f"|D{i}|".encode())
    )


def paced(total: int, rate: float, label: str, send) -> dict[str, float]:  # type: ignore[no-untyped-def]
    sent: dict[str, float] = {}
    started = time.monotonic()
    for i in range(total):
        marker, t0 = send(i)
        sent[marker] = t0
        time.sleep(max(0.0, started + (i + 1) / rate - time.monotonic()))
        if (i + 1) % max(1, int(rate * 5)) == 0:
            print(f"  {label}: sent {i + 1}/{total}", file=sys.stderr, flush=True)
    return sent


def latencies(
    sent: dict[str, float],
    seen: dict[str, list[float]],
    per_ward: dict[str, int],
    ward_of: dict[str, str],
) -> tuple[list[float], int]:
    ms, missing = [], 0
    for marker, t0 in sent.items():
        times = seen.get(marker, [])
        ms += [(t - t0) * 1000 for t in times]
        missing += per_ward[ward_of[marker]] - len(times)
    return ms, missing


def run_baseline(n: int, rate: float, seconds: float, processes: int) -> tuple[list[float], int]:
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
        boards = Boards(url, n, processes)
        sender = socketio.Client()
        sender.connect(url, namespaces=[NAMESPACE], transports=["websocket"])
        time.sleep(1)
        ward_of: dict[str, str] = {}

        def send(i: int) -> tuple[str, float]:
            ward = WARDS[i % len(WARDS)]
            marker = f"PING{i:06d}"
            ward_of[marker] = ward
            payload = {"snapshot": {"patients": [{"display_name": f"{marker}, x"}]}}
            t0 = time.monotonic()
            sender.emit("relay", {"ward": ward, "payload": payload}, namespace=NAMESPACE)
            return marker, t0

        sent = paced(int(rate * seconds), rate, "baseline", send)
        time.sleep(2)
        sender.disconnect()
        return latencies(sent, boards.collect(), boards.per_ward, ward_of)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def staff_token(instance: str, database_url: str = "") -> str:
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


def start_system(tmp: str, split: int, database_url: str, redis_url: str):  # type: ignore[no-untyped-def]
    """Start ``run.py serve`` (split=0) or ``mllp`` + ``split`` ``web`` processes.

    Returns (board URLs, MLLP port, processes). Split processes share the database and Redis,
    as a larger site runs them (docs/OPERATIONS.md).
    """
    mllp_port = free_port()
    env = {
        **os.environ,
        "WARDBOARD_INSTANCE_PATH": tmp,
        "WARDBOARD_MLLP_PORT": str(mllp_port),
        "WARDBOARD_LAYOUT_FILE": str(LAYOUT),
        "WARDBOARD_SCHEDULER_ENABLED": "false",
        "WARDBOARD_LOG_LEVEL": "WARNING",
        "WARDBOARD_SECRET_KEY": "bench-secret",
        "WARDBOARD_DATABASE_URL": database_url,
    }
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    run = [sys.executable, str(ROOT / "run.py")]
    if not split:
        port = free_port()
        proc = subprocess.Popen(
            [*run, "serve"], env={**env, "WARDBOARD_HTTP_PORT": str(port)}, **quiet
        )
        urls, procs = [f"http://127.0.0.1:{port}"], [proc]
    else:
        env["WARDBOARD_REDIS_URL"] = redis_url
        env["WARDBOARD_REDIS_CHANNEL"] = f"bench-{os.getpid()}"
        subprocess.run([*run, "db", "upgrade"], env=env, check=True, **quiet)
        procs = [subprocess.Popen([*run, "mllp"], env=env, **quiet)]
        urls = []
        for _ in range(split):
            port = free_port()
            procs.append(subprocess.Popen([*run, "web", "--port", str(port)], env=env, **quiet))
            urls.append(f"http://127.0.0.1:{port}")
    for url in urls:
        wait_http(f"{url}/healthz")
    wait_mllp(mllp_port)
    return urls, mllp_port, procs


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


def run_system(
    n: int,
    rate: float,
    seconds: float,
    processes: int,
    split: int = 0,
    database_url: str = "",
    redis_url: str = "",
) -> tuple[list[float], list[float], int]:
    from config.layout import load_layout
    from integration.mllp.client import MllpClient

    with tempfile.TemporaryDirectory() as tmp:
        database_url = database_url or f"sqlite:///{tmp}/wardboard.sqlite"
        urls, mllp_port, procs = start_system(tmp, split, database_url, redis_url)
        try:
            boards = Boards(urls, n, processes, {"signon": staff_token(tmp, database_url)})
            time.sleep(1)
            layout = load_layout(LAYOUT)
            free = {w.code: [b for bay in w.bays for b in bay.beds] for w in layout.wards}
            occupied: list[tuple[int, str, str]] = []
            ward_of: dict[str, str] = {}
            ack_ms: list[float] = []
            client = MllpClient("127.0.0.1", mllp_port).connect()

            def send(i: int) -> tuple[str, float]:
                ward = WARDS[i % len(WARDS)]
                if not free[ward]:
                    j, w, bed = next(o for o in occupied if o[1] == ward)
                    occupied.remove((j, w, bed))
                    client.send(discharge(j, w, bed))
                    free[w].append(bed)
                bed = free[ward].pop(0)
                occupied.append((i, ward, bed))
                marker = f"BENCH{i:06d}"
                ward_of[marker] = ward
                t0 = time.monotonic()
                client.send(admission(i, ward, bed))
                ack_ms.append((time.monotonic() - t0) * 1000)
                return marker, t0

            sent = paced(int(rate * seconds), rate, "system", send)
            time.sleep(2)
            client.close()
            e2e, missing = latencies(sent, boards.collect(), boards.per_ward, ward_of)
            return e2e, ack_ms, missing
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=100)
    parser.add_argument("--rate", type=float, default=50.0, help="admissions per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--processes", type=int, default=4, help="board client processes")
    parser.add_argument(
        "--split", type=int, default=0, help="web processes (with one run.py mllp) instead of serve"
    )
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp folder")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--serve-baseline", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline)
        return
    print(f"baseline: bare Socket.IO relay, {args.boards} boards, {args.rate}/s", file=sys.stderr)
    base, base_missing = run_baseline(args.boards, args.rate, min(args.seconds, 15), args.processes)
    shape = f"{args.split} web + 1 mllp processes" if args.split else "run.py serve"
    db = args.database_url.split(":")[0] if args.database_url else "sqlite"
    print(f"system: {shape} on {db}, {args.boards} boards, {args.rate}/s", file=sys.stderr)
    e2e, ack, missing = run_system(
        args.boards, args.rate, args.seconds, args.processes,
        args.split, args.database_url, args.redis_url,
    )  # fmt: skip
    print(f"system: {shape} on {db}")
    print()
    print(f"boards={args.boards} rate={args.rate}/s seconds={args.seconds} cores={os.cpu_count()}")
    print(summary("baseline socket relay", base))
    print(summary("MLLP ACK", ack))
    print(summary("send -> board event", e2e))
    if base and e2e:
        print(
            f"ratio to baseline: p50 {percentile(e2e, 50) / percentile(base, 50):.1f}x, "
            f"p99 {percentile(e2e, 99) / percentile(base, 99):.1f}x"
        )
    print(f"board updates never seen: system {missing}, baseline {base_missing}")


if __name__ == "__main__":
    main()
