"""Send-to-board latency: N Socket.IO boards connected, M ADT messages per second over MLLP.

The system runs as it does in production (`python run.py serve`, its own process, SQLite; or
split processes on PostgreSQL + Redis with ``--split``); the boards are python-socketio
clients in worker processes, joined to the wards; a sender admits patients over MLLP at a
fixed rate. For each admission we time from the moment its bytes are sent to the moment each
board of that ward receives the board event showing the new patient. Discharges keep the
wards from filling up. Starting the system and the boards is shared with
bench/hospital_day.py (bench/live_system.py).

Baseline, in the same run: a bare Flask-SocketIO server (same server stack, no HL7, no
database) that relays a marker to a ward's room; the same boards time it the same way.

    python bench/e2e_latency.py --boards 100 --rate 50 --seconds 30
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.live_system import (  # noqa: E402
    DEMO_LAYOUT,
    Boards,
    LiveSystem,
    cpu_table,
    cpu_use,
    marker_latencies,
    paced,
    percentile,
    run_baseline,
    staff_token,
    summary,
)

WARDS = ["AMU", "W4", "W6", "W10", "W12"]


GIVEN = ("Ann", "Bilal", "Cerys", "Dev", "Eilidh", "Femi", "Grace", "Huw", "Isla", "Jack")


def admission(i: int, ward: str, bed: str) -> bytes:
    """Admission i: a different person each time (forename, birth date and sex vary), as on a
    real ward. Until 2026-12-01 every one was "Test", born 1960-01-01, so each admission was a
    possible duplicate of all the others and put a pair on the clerks' queue."""
    dob = (date(1930, 1, 1) + timedelta(days=(i * 7919) % 25_000)).strftime("%Y%m%d")
    return (
        f"MSH|^~\\&|BENCH|WGH|WARDBOARD|WGH|20261122090000||ADT^A01^ADT_A01|B{i}|P|2.5.1\r"
        f"EVN|A01|20261122090000\r"
        f"PID|1||BH{i:07d}^^^WGH^MR||BENCH{i:06d}^{GIVEN[i % len(GIVEN)]}||{dob}|{'FM'[i % 2]}\r"
        f"PV1|1|I|{ward}^^{bed}||||C4821937^OKAFOR^Adaeze^^^Dr|||||||||||BV{i}\r"
    ).encode()


def discharge(i: int, ward: str, bed: str) -> bytes:
    return (
        admission(i, ward, bed)
        .replace(b"ADT^A01", b"ADT^A03")
        .replace(b"EVN|A01", b"EVN|A03")
        .replace(f"|B{i}|".encode(), f"|D{i}|".encode())
    )


def board_wards(n: int) -> list[str]:
    return [WARDS[i % len(WARDS)] for i in range(n)]


def slow_stderr(
    ack_at: list[tuple[float, float]], sent: dict[str, float], events: list[tuple]
) -> None:
    """The five slowest ACKs and admissions (by their slowest board), with their send times
    on the machine's monotonic clock, so a stall can be matched with a process's own log."""
    worst: dict[str, float] = {}
    for marker, _board, t in events:
        if marker in sent:
            worst[marker] = max(worst.get(marker, 0.0), (t - sent[marker]) * 1000)
    first = min(sent.values(), default=0.0)
    acks = sorted(ack_at, key=lambda a: -a[1])[:5]
    print(f"  first message sent at {first:.3f}", file=sys.stderr)
    print("  slowest ACKs (sent at, ms): " + ", ".join(f"{t:.3f} {ms:.0f}" for t, ms in acks),
          file=sys.stderr)  # fmt: skip
    first_seen: dict[str, float] = {}
    for marker, _board, t in events:
        if marker in sent:
            first_seen[marker] = min(first_seen.get(marker, t), t)
    firsts = [(first_seen[m] - sent[m]) * 1000 for m in first_seen]
    spreads = [worst[m] - (first_seen[m] - sent[m]) * 1000 for m in first_seen]
    if firsts:
        print(
            f"  first board after send p50 {percentile(firsts, 50):.1f} / p99 "
            f"{percentile(firsts, 99):.1f} ms; last board after first p50 "
            f"{percentile(spreads, 50):.1f} / p99 {percentile(spreads, 99):.1f} ms",
            file=sys.stderr,
        )
    slow = sorted(worst.items(), key=lambda m: -m[1])[:5]
    worst_lines = ", ".join(f"{m} {sent[m]:.3f} {ms:.0f}" for m, ms in slow)
    print(f"  slowest to a board (message, sent at, ms): {worst_lines}", file=sys.stderr)


def run_system(
    n: int,
    rate: float,
    seconds: float,
    processes: int,
    split: int = 0,
    database_url: str = "",
    redis_url: str = "",
    clients: str = "async",
    warmup: int = 0,
) -> tuple[list[float], list[float], int]:
    """``warmup`` messages are sent first, at the same rate, and left out of the figures: the
    wards fill and discharges begin, so every statement and push has run once, and the
    measured window is a running hospital's (the cold start is printed on its own)."""
    from config.layout import load_layout
    from integration.mllp.client import MllpClient

    with tempfile.TemporaryDirectory() as tmp:
        database_url = database_url or f"sqlite:///{tmp}/wardboard.sqlite"
        system = LiveSystem(tmp, split, database_url, redis_url).start()
        try:
            auth = {"signon": staff_token(tmp, database_url)}
            boards = Boards(system.urls, board_wards(n), processes, auth, clients=clients)
            time.sleep(1)
            layout = load_layout(DEMO_LAYOUT)
            free = {w.code: [b for bay in w.bays for b in bay.beds] for w in layout.wards}
            occupied: list[tuple[int, str, str]] = []
            ward_of: dict[str, str] = {}
            ack_ms: list[float] = []
            ack_at: list[tuple[float, float]] = []  # (send time, ms): where the slow ones fell
            client = MllpClient("127.0.0.1", system.mllp_port).connect()

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
                ack_at.append((t0, ack_ms[-1]))
                return marker, t0

            warm: dict[str, float] = {}
            if warmup:
                warm = paced(warmup, rate, "warm-up (not measured)", send)
                ack_ms.clear()
                ack_at.clear()
            groups = {**system.pids(), "boards": [p.pid for p in boards.procs]}
            cpu_before, t_before = cpu_use(groups), time.monotonic()
            sent = paced(int(rate * seconds), rate, "system", lambda i: send(warmup + i))
            cpu_line = cpu_table(cpu_before, cpu_use(groups), time.monotonic() - t_before)
            time.sleep(2)
            client.close()
            boards.collect()
            events = boards.snapshot_events()
            if warm:
                cold, _ = marker_latencies(warm, events, boards.per_ward, ward_of)
                print(
                    f"  warm-up, {len(warm)} messages (not in the figures): send -> board p50 "
                    f"{percentile(cold, 50):.1f} / p99 {percentile(cold, 99):.1f} / max "
                    f"{max(cold):.1f} ms",
                    file=sys.stderr,
                )
            e2e, missing = marker_latencies(sent, events, boards.per_ward, ward_of)
            print(f"  board resyncs (patch did not apply): {boards.resyncs}", file=sys.stderr)
            print(f"  {cpu_line}", file=sys.stderr)
            slow_stderr(ack_at, sent, events)
            pauses = sorted(boards.gc_pauses, key=lambda g: -g[1])
            print(f"  board processes' GC pauses >= 5 ms: {len(pauses)}; longest (start, ms, gen): "
                  + ", ".join(f"{t:.3f} {ms:.0f} g{g}" for t, ms, g in pauses[:8]),
                  file=sys.stderr)  # fmt: skip
            for line in boards.resync_log[:20]:
                print(f"  resync: {line}", file=sys.stderr)
            for name in system.procs:
                lines = system.log(name).splitlines()
                warned = [x for x in lines if "WARNING" in x or "ERROR" in x]
                for line in warned[:10]:
                    print(f"  {name} log: {line[:300]}", file=sys.stderr)
            return e2e, ack_ms, missing
        finally:
            system.stop()


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
    parser.add_argument(
        "--clients",
        choices=("async", "threads"),
        default="async",
        help="board clients: one asyncio loop per process, or two threads per board (before)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=0,
        help="messages sent before the measured window (their latencies printed apart)",
    )
    args = parser.parse_args()
    print(f"baseline: bare Socket.IO relay, {args.boards} boards, {args.rate}/s", file=sys.stderr)
    base, base_missing = run_baseline(
        board_wards(args.boards), args.rate, min(args.seconds, 15), args.processes, args.clients
    )
    shape = f"{args.split} web + 1 mllp processes" if args.split else "run.py serve"
    db = args.database_url.split(":")[0] if args.database_url else "sqlite"
    print(f"system: {shape} on {db}, {args.boards} boards, {args.rate}/s", file=sys.stderr)
    e2e, ack, missing = run_system(
        args.boards, args.rate, args.seconds, args.processes,
        args.split, args.database_url, args.redis_url, args.clients, args.warmup,
    )  # fmt: skip
    print(f"system: {shape} on {db}")
    print()
    print(
        f"boards={args.boards} rate={args.rate}/s seconds={args.seconds} cores={os.cpu_count()} "
        f"clients={args.clients} warmup={args.warmup}"
    )
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
