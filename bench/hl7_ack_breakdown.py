"""Where an ACK's time goes at 100 msg/s: the listener in this process, a paced client in another.

``bench/hl7_throughput.py`` measures the ACK latency a sender sees; this probe splits it, for
one connection sending admit/update/discharge at 100 msg/s (async senders, SQLite):

- **process**: the listener's own time for the message (MSH read to ACK built);
- **lock wait**: waiting for the write lock the journal commit needs (the spool's on SQLite
  with a spool, the record database's without: then an apply in progress holds it);
- **commit**: the journal (or spool) transaction itself, fsync included.

What the client sees beyond "process" is socket and thread scheduling (the GIL). Baseline in
the same run: the raw MLLP echo server of ``bench/hl7_throughput.py`` under the same client.

    python bench/hl7_ack_breakdown.py [--messages 1000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.hl7_throughput import pct  # noqa: E402  (after the path is set)

CLIENT = """
import sys
sys.path.insert(0, {root!r})
from bench.hl7_throughput import adt_stream, paced
lat = paced({port}, 100, adt_stream({prefix!r}, {n}))
print(" ".join(f"{{x:.4f}}" for x in lat))
"""


def client(port: int, prefix: str, n: int) -> list[float]:
    """The paced client in its own process (its own GIL), as a real sender would be."""
    code = CLIENT.format(root=str(ROOT), port=port, prefix=prefix, n=n)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [float(x) for x in out.stdout.split()]


def line(name: str, values: list[float]) -> str:
    return (
        f"  {name:<22} p50 {pct(values, 50):6.2f}  p90 {pct(values, 90):6.2f}  "
        f"p99 {pct(values, 99):6.2f}  max {max(values):6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="ackbreakdown-"))
    port_file = workdir / "echo.port"
    echo = subprocess.Popen(
        [sys.executable, str(ROOT / "bench/hl7_throughput.py"), "--echo-server", str(port_file)]
    )
    while not port_file.exists() or not port_file.read_text():
        time.sleep(0.05)
    baseline = client(int(port_file.read_text()), "E", args.messages)
    echo.terminate()
    echo.wait()

    from config.bootstrap import bootstrap
    from config.layout import apply_layout, load_layout
    from config.migrate import upgrade
    from config.processes import settle_heap
    from config.settings import Settings

    settings = Settings(
        instance_path=workdir,
        database_url=f"sqlite:///{workdir}/wardboard.sqlite",
        mllp_port=0,
        hl7_apply_mode="async",
        scheduler_enabled=False,
        timezone="UTC",
    )
    services = bootstrap(settings)
    upgrade(services.engine)
    with services.uow_factory() as uow:
        apply_layout(uow.session, load_layout(ROOT / "config/layouts/demo_hospital.toml"))
        uow.commit()
    pipeline = services.pipeline
    spool = getattr(pipeline, "spool", None)
    lock = spool.writes._lock if spool is not None else services.uow_factory._lock
    writer, timings = pipeline.writer, threading.local()
    commit, process = writer._commit, pipeline.process
    rows: list[tuple[float, float, float]] = []

    def timed_commit(batch: list[dict[str, Any]]) -> Any:
        t0 = time.perf_counter()
        with lock:  # the lock the commit is about to take: how long until it is free
            t1 = time.perf_counter()
        result = commit(batch)
        timings.last = (t1 - t0, time.perf_counter() - t1)
        return result

    def timed_process(raw: bytes, peer: str = "") -> Any:
        t0 = time.perf_counter()
        outcome = process(raw, peer)
        wait, took = getattr(timings, "last", (0.0, 0.0))
        timings.last = (0.0, 0.0)
        rows.append(((time.perf_counter() - t0) * 1000, wait * 1000, took * 1000))
        return outcome

    writer._commit = timed_commit  # type: ignore[method-assign]
    pipeline.process = timed_process  # type: ignore[method-assign]
    server = services.start_listener(port=0)
    settle_heap()
    try:
        seen = client(server.port, "L", args.messages)
    finally:
        services.stop()

    print(f"\n{args.messages} messages at 100 msg/s, one connection, async, SQLite", end="")
    print(" with a spool" if spool is not None else " without a spool")
    print(line("baseline: echo server", baseline))
    print(line("client sees", seen) + f"  (p99 {pct(seen, 99) / pct(baseline, 99):.0f}x echo)")
    for i, name in enumerate(("listener process()", "lock wait", "journal commit")):
        print(line(name, [r[i] for r in rows]))


if __name__ == "__main__":
    main()
