"""HL7 receive throughput and ACK latency: our listener against a raw MLLP echo server.

What it measures, each with durable journalling (SQLite, WAL, synchronous=FULL):

- sustained ACKed msg/s over 1, 4 and 16 connections (each connection sends, waits for its
  ACK, sends the next: what real senders do), senders configured "async" (ACK once stored);
- the same over 16 connections with "sync" senders (ACK after applying), for comparison;
- applied ADT/s: how fast the applier drains a journalled backlog of admit/update/discharge;
- p50/p99 ACK latency at 100 msg/s offered (paced, one connection, async).

Baseline in the same run: a raw MLLP echo server (frame in, fixed ACK out, no parsing, no
storage) measured with the same client, so the ratio shows what journalling costs.

The server runs in its own process (``python run.py hl7 listen``), the load generator in this
one (a selector loop, no threads), so each has one of the machine's cores.

    python bench/hl7_throughput.py --seconds 5
"""

from __future__ import annotations

import argparse
import hashlib
import os
import selectors
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = b"\x0b", b"\x1c\x0d"
ECHO_ACK = START + b"MSH|^~\\&|ECHO|ECHO|||20261122000000||ACK|1|P|2.5.1\rMSA|AA|1\r" + END


# --- the baseline: an MLLP echo server ---------------------------------------------------------


def echo_server(port_file: str) -> None:
    """Frame in, fixed ACK out: the floor any MLLP listener in Python stands on."""
    sel = selectors.DefaultSelector()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    listener.setblocking(False)
    sel.register(listener, selectors.EVENT_READ, None)
    Path(port_file).write_text(str(listener.getsockname()[1]))
    buffers: dict[socket.socket, bytes] = {}
    while True:
        for key, _ in sel.select():
            if key.data is None:
                conn, _addr = listener.accept()
                conn.setblocking(False)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sel.register(conn, selectors.EVENT_READ, "c")
                buffers[conn] = b""
                continue
            conn = key.fileobj  # type: ignore[assignment]
            data = conn.recv(65536)
            if not data:
                sel.unregister(conn)
                conn.close()
                continue
            buf = buffers[conn] + data
            n = buf.count(END)
            if n:
                buf = buf[buf.rfind(END) + 2 :]
                conn.sendall(ECHO_ACK * n)
            buffers[conn] = buf


# --- messages ----------------------------------------------------------------------------------


SURNAMES = (
    "SMITH JONES TAYLOR BROWN WILLIAMS WILSON JOHNSON DAVIES ROBINSON WRIGHT THOMPSON EVANS "
    "WALKER WHITE ROBERTS GREEN HALL WOOD JACKSON CLARKE PATEL KHAN LEWIS JAMES PHILLIPS "
    "MASON MITCHELL ROSE DAVIS RODRIGUEZ COX ALEXANDER MORGAN MOORE OKAFOR NGUYEN"
).split()
GIVEN = (
    "Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Freya Noah Oliver George "
    "Arthur Muhammad Leo Harry Oscar Archie Henry Theodore Freddie Jack Charlie Adaeze Sian"
).split()


def person(prefix: str, i: int) -> str:
    """PID-5 to PID-11 for a distinct synthetic person (name, birth date, address vary).

    Every patient must be someone else: identical demographics across connections would be
    linked by the master patient index as one person, and one connection's discharge would
    then find its stay already gone (an AE the benchmark did not mean to measure).
    """
    h = int.from_bytes(hashlib.blake2b(f"{prefix}{i}".encode(), digest_size=8).digest(), "big")
    family = f"{SURNAMES[h % len(SURNAMES)]}-{GIVEN[(h >> 8) % len(GIVEN)].upper()}"
    given = GIVEN[(h >> 16) % len(GIVEN)]
    born = date(1930, 1, 1) + timedelta(days=(h >> 24) % 30_000)
    sex = "FM"[(h >> 40) % 2]
    return (
        f"{family}^{given}||{born:%Y%m%d}|{sex}|||{(h >> 44) % 300 + 1} Bench Road^^Sale^^"
        f"M{(h >> 52) % 90 + 1} {(h >> 56) % 9 + 1}XX"
    )


def adt_stream(prefix: str, n: int) -> list[bytes]:
    """Admit, update, discharge for n/3 synthetic patients, unique MSH-10 each: all apply."""
    out: list[bytes] = []
    i = 0
    while len(out) < n:
        hn = f"{prefix}{i:07d}"
        for trigger in ("A01", "A08", "A03"):
            cid = f"{prefix}{len(out):09d}"
            discharge = "20261122120000" if trigger == "A03" else ""
            pv1 = ["PV1", "1", "I", "AMU^^", "", "", "", "C1234567^OKAFOR^Adaeze^^^Dr"]
            pv1 += [""] * 11 + [f"V{hn}"] + [""] * 24 + ["20261122091500", discharge]
            segs = [
                f"MSH|^~\\&|PAS|WGH|WARDBOARD|WGH|20261122091500||ADT^{trigger}^ADT_A01|{cid}|P|"
                "2.5.1|||||GBR|UNICODE UTF-8",
                f"EVN|{trigger}|20261122091500",
                f"PID|1||{hn}^^^WGH^MR||{person(prefix, i)}",
                "|".join(pv1).rstrip("|"),
            ]
            out.append(START + ("\r".join(segs) + "\r").encode() + END)
            if len(out) >= n:
                break
        i += 1
    return out


# --- the load generator ------------------------------------------------------------------------


def closed_loop(port: int, conns: int, prefix: str, seconds: float, per_conn: int) -> dict:
    """Each connection: send, wait for the ACK, send the next; for ``seconds``.

    Each connection carries its own patients (admit, update, discharge in order), as a
    sender's one connection would, so every message applies.
    """
    streams = [adt_stream(f"{prefix}K{k}X", per_conn) for k in range(conns)]
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(conns):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        socks.append(s)
    position = dict.fromkeys(socks, 0)
    sent = 0
    acks = 0
    codes: dict[bytes, int] = {}
    buffers = {s: b"" for s in socks}
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    stream_of = dict(zip(socks, streams, strict=True))
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
        s.sendall(stream_of[s][0])
        position[s] = 1
        sent += 1
    outstanding = len(socks)
    while outstanding:
        for key, _ in sel.select(timeout=30):
            s = key.fileobj
            data = s.recv(65536)  # type: ignore[union-attr]
            if not data:
                raise SystemExit("server closed a connection")
            buf = buffers[s] + data  # type: ignore[index]
            while END in buf:
                frame, buf = buf.split(END, 1)
                msa = frame.find(b"MSA|")
                code = frame[msa + 4 : msa + 6] if msa >= 0 else b"??"
                codes[code] = codes.get(code, 0) + 1
                acks += 1
                outstanding -= 1
                mine = stream_of[s]  # type: ignore[index]
                if time.perf_counter() < deadline and position[s] < len(mine):  # type: ignore[index]
                    s.sendall(mine[position[s]])  # type: ignore[union-attr,index]
                    position[s] += 1  # type: ignore[index]
                    sent += 1
                    outstanding += 1
            buffers[s] = buf  # type: ignore[index]
    elapsed = time.perf_counter() - started
    for s in socks:
        s.close()
    return {"rate": acks / elapsed, "acks": acks, "codes": codes, "sent": sent}


def paced(port: int, rate: float, messages: list[bytes]) -> list[float]:
    """One connection, one message every 1/rate s (open loop); ACK latency of each, in ms."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    latencies = []
    t0 = time.perf_counter()
    for i, msg in enumerate(messages):
        due = t0 + i / rate
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
        sent = time.perf_counter()
        s.sendall(msg)
        buf = b""
        while END not in buf:
            buf += s.recv(65536)
        latencies.append((time.perf_counter() - sent) * 1000)
    s.close()
    return latencies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


# --- our server --------------------------------------------------------------------------------


class Listener:
    """``python run.py hl7 listen`` on a fresh SQLite database, in its own process."""

    def __init__(self, workdir: Path, name: str, apply_mode: str) -> None:
        self.db = workdir / f"{name}.sqlite"
        env = dict(
            os.environ,
            WARDBOARD_DATABASE_URL=f"sqlite:///{self.db}",
            WARDBOARD_HL7_APPLY_MODE=apply_mode,
            WARDBOARD_SCHEDULER_ENABLED="false",
            WARDBOARD_INSTANCE_PATH=str(workdir),
        )
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "run.py"), "hl7", "listen", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("MLLP listening on"):
                self.port = int(line.rsplit(":", 1)[1])
                break
        else:
            raise SystemExit("the listener did not start")

    def counts(self) -> dict[str, int]:
        """Journal entries by state; entries still in the SQLite spool (integration/spool.py,
        received and not yet moved into the journal by the applier) count as "spooled"."""
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as conn:
            rows = conn.execute("SELECT state, count(*) FROM inbound_message GROUP BY state")
            counts = dict(rows.fetchall())
        spool = self.db.with_name(f"{self.db.stem}.hl7spool{self.db.suffix}")
        if spool.exists():
            with sqlite3.connect(f"file:{spool}?mode=ro", uri=True) as conn:
                (n,) = conn.execute("SELECT count(*) FROM spooled_message").fetchone()
            if n:
                counts["spooled"] = n
        return counts

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput run")
    parser.add_argument("--latency-messages", type=int, default=1000, help="at 100 msg/s")
    parser.add_argument("--drain-seconds", type=float, default=20.0)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hl7bench-"))
    results: list[tuple[str, str]] = []

    def report(name: str, value: str) -> None:
        results.append((name, value))
        print(f"  {name:<52} {value}", flush=True)

    print("baseline: raw MLLP echo server (frame in, fixed ACK out)", flush=True)
    port_file = workdir / "echo.port"
    echo = subprocess.Popen([sys.executable, __file__, "--echo-server", str(port_file)], cwd=ROOT)
    while not port_file.exists() or not port_file.read_text():
        time.sleep(0.05)
    echo_port = int(port_file.read_text())
    echo_rate = {}
    for conns in (1, 4, 16):
        r = closed_loop(echo_port, conns, "E", args.seconds, 250_000 // conns)
        echo_rate[conns] = r["rate"]
        report(f"echo, {conns} connection(s)", f"{r['rate']:8.0f} msg/s")
    echo_lat = paced(echo_port, 100, adt_stream("EL", args.latency_messages))
    report(
        "echo, ACK latency at 100 msg/s",
        f"p50 {pct(echo_lat, 50):.2f} ms  p99 {pct(echo_lat, 99):.2f} ms",
    )
    echo.terminate()
    echo.wait()

    print("wardboard: ACK latency at 100 msg/s offered (async senders)", flush=True)
    server = Listener(workdir, "latency", "async")
    lat = paced(server.port, 100, adt_stream("L", args.latency_messages))
    report(
        "wardboard async, ACK latency at 100 msg/s",
        f"p50 {pct(lat, 50):.2f} ms  p99 {pct(lat, 99):.2f} ms  max {max(lat):.2f} ms",
    )
    time.sleep(1)
    report("  journal states after the latency run", str(server.counts()))
    server.stop()

    print("wardboard: sustained ACKed msg/s (async senders: ACK once journalled)", flush=True)
    for conns in (1, 4, 16):
        server = Listener(workdir, f"async{conns}", "async")
        r = closed_loop(server.port, conns, f"C{conns}", args.seconds, 60_000 // conns)
        report(
            f"wardboard async, {conns} connection(s)",
            f"{r['rate']:8.0f} msg/s  ({r['rate'] / echo_rate[conns]:.2f} x echo)  "
            f"codes {dict((k.decode(), v) for k, v in r['codes'].items())}",
        )
        if conns == 16:
            # The applier has been working all along; now measure it draining the backlog.
            before = server.counts()
            t0 = time.perf_counter()
            applied0 = before.get("applied", 0)
            total = sum(before.values())
            while time.perf_counter() - t0 < args.drain_seconds:
                time.sleep(1)
                now = server.counts()
                done = now.get("applied", 0) + now.get("failed", 0) + now.get("rejected", 0)
                print(f"    draining: {done}/{total} handled", flush=True)
                if done >= total:
                    break
            elapsed = time.perf_counter() - t0
            after = server.counts()
            rate = (after.get("applied", 0) - applied0) / elapsed
            report("applied ADT/s (applier draining the backlog)", f"{rate:8.0f} ADT/s")
            report("  journal states", str(after))
        server.stop()

    print("wardboard: sustained ACKed msg/s (sync senders: ACK after applying)", flush=True)
    server = Listener(workdir, "sync16", "sync")
    r = closed_loop(server.port, 16, "S", args.seconds, 2_000)
    report(
        "wardboard sync, 16 connections",
        f"{r['rate']:8.0f} msg/s  ({r['rate'] / echo_rate[16]:.3f} x echo)  "
        f"codes {dict((k.decode(), v) for k, v in r['codes'].items())}",
    )
    server.stop()
    print("\nsummary")
    for name, value in results:
        print(f"  {name:<52} {value}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--echo-server":
        echo_server(sys.argv[2])
    else:
        main()
