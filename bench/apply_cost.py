"""What applying an ADT and pushing its ward's board cost, in one process, no sockets.

The e2e and throughput benchmarks measure the whole system; this one isolates the two parts
that share the MLLP process's GIL, so a change to either can be measured in seconds (and
profiled: ``py-spy record -o out.svg -- python bench/apply_cost.py``):

- **apply**: journalled ADT messages (admissions into the five demo wards, the oldest
  patient discharged when a ward is full, as ``bench/e2e_latency.py`` sends them, plus an
  A08 for every admission; distinct synthetic people, as ``bench/hl7_throughput.py``)
  applied by the real pipeline in journal order, in batches as the applier takes a backlog
  (``--batch``) or one at a time (``--batch 1``);
- **snapshot**: the board publisher's push for a ward (snapshot with alerts + kiosk view).

Baseline in the same run: translating the same messages to commands (python-hl7 parse and
field mapping, no database), the floor the apply stands on.

    python bench/apply_cost.py --messages 600
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.hl7_throughput import person  # noqa: E402  (after the path is set)

LAYOUT = ROOT / "config/layouts/demo_hospital.toml"
WARDS = ["AMU", "W4", "W6", "W10", "W12"]


def message(i: int, trigger: str, ward: str, bed: str, control: str) -> bytes:
    return (
        f"MSH|^~\\&|BENCH|WGH|WARDBOARD|WGH|20261122090000||ADT^{trigger}^ADT_A01|{control}|P|"
        f"2.5.1\r"
        f"EVN|{trigger}|20261122090000\r"
        f"PID|1||BH{i:07d}^^^WGH^MR||{person('BH', i)}\r"
        f"PV1|1|I|{ward}^^{bed}||||C4821937^OKAFOR^Adaeze^^^Dr|||||||||||BV{i}\r"
    ).encode()


def traffic(n: int, beds: dict[str, list[str]]) -> list[bytes]:
    """Admit, update, and discharge the ward's oldest patient when it is full."""
    free = {w: list(b) for w, b in beds.items()}
    occupied: list[tuple[int, str, str]] = []
    out: list[bytes] = []
    i = 0
    while len(out) < n:
        ward = WARDS[i % len(WARDS)]
        if not free[ward]:
            j, w, bed = next(o for o in occupied if o[1] == ward)
            occupied.remove((j, w, bed))
            out.append(message(j, "A03", w, bed, f"D{j}"))
            free[w].append(bed)
        bed = free[ward].pop(0)
        occupied.append((i, ward, bed))
        out.append(message(i, "A01", ward, bed, f"A{i}"))
        out.append(message(i, "A08", ward, bed, f"U{i}"))
        i += 1
    return out[:n]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def demo_services(database_url: str, prefix: str) -> tuple[Any, dict[str, list[str]]]:
    """The demo hospital's services with no pushes (SQLite in a temp folder unless a URL is
    given), migrated and laid out; and each ward's beds. The caller stops the services."""
    from config.bootstrap import bootstrap
    from config.layout import apply_layout, load_layout
    from config.migrate import upgrade
    from config.settings import Settings

    tmp = tempfile.mkdtemp(prefix=prefix)
    url = database_url or f"sqlite:///{tmp}/wardboard.sqlite"
    settings = Settings(
        instance_path=Path(tmp), database_url=url, board_push_enabled=False, timezone="UTC"
    )
    services = bootstrap(settings, emit=lambda *_: None, emit_kiosk=lambda *_: None)
    try:
        upgrade(services.engine)
        layout = load_layout(LAYOUT)
        with services.uow_factory() as uow:
            apply_layout(uow.session, layout)
            uow.commit()
    except Exception:
        services.stop()
        raise
    return services, {w.code: [b for bay in w.bays for b in bay.beds] for w in layout.wards}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--batch", type=int, default=50, help="journal entries per apply")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp folder")
    parser.add_argument("--repeat", type=int, default=1, help="measure the snapshot N times")
    args = parser.parse_args()

    from config.db import utcnow
    from integration.applier import Job
    from integration.hl7.header import read_header
    from integration.hl7.reader import MessageReader
    from integration.journal_writer import row
    from integration.routing import route

    services, beds = demo_services(args.database_url, "applycost-")
    try:
        msgs = traffic(args.messages, beds)
        pipeline = services.pipeline
        tz = ZoneInfo("UTC")

        # Baseline: translation only (what any apply must at least do); best of 5 passes,
        # CPU time, so that a busy machine moves it as little as possible.
        translate_ms = float("inf")
        for _ in range(5):
            t0 = time.process_time()
            for raw in msgs:
                header = read_header(raw)
                route(header)(MessageReader(raw.decode()), header, tz, utcnow(), "bench")
            translate_ms = min(translate_ms, (time.process_time() - t0) * 1000 / len(msgs))

        # Journal everything first (as a backlog), then apply it the way the applier does.
        now = utcnow()
        jobs = []
        for raw in msgs:
            header = read_header(raw)
            values = row(
                sender=header.sender,
                control_id=header.control_id,
                message_type=header.message_type,
                trigger_event=header.trigger_event,
                version=header.version,
                received_at=now,
                raw=raw,
                charset=header.charset,
            )
            stored = pipeline.writer.write(values)
            jobs.append(Job(stored.entry_id, raw, header, now, True))
        statements = [0]

        def count(*_args: object) -> None:
            statements[0] += 1

        event.listen(services.engine, "before_cursor_execute", count)
        per_batch: list[float] = []
        codes: dict[str, int] = {}
        done = 0
        t0, cpu0 = time.perf_counter(), time.process_time()
        while done < len(jobs):
            batch = jobs[done : done + args.batch]
            b0 = time.perf_counter()
            outcomes = pipeline.apply_batch(batch)
            per_batch.append((time.perf_counter() - b0) * 1000 / len(outcomes))
            for o in outcomes:
                codes[o.code] = codes.get(o.code, 0) + 1
            done += len(outcomes)
            if done % 300 < len(outcomes):
                print(f"  applied {done}/{len(jobs)}", file=sys.stderr, flush=True)
        apply_s = time.perf_counter() - t0
        apply_cpu_ms = (time.process_time() - cpu0) * 1000 / len(msgs)
        event.remove(services.engine, "before_cursor_execute", count)

        # Board pushes: what the publisher does for one ward (snapshot + kiosk view).
        publisher = services.publisher
        push_ms: list[float] = []
        push_statements = [0]

        def count_push(*_args: object) -> None:
            push_statements[0] += 1

        event.listen(services.engine, "before_cursor_execute", count_push)
        cpu0 = time.process_time()
        for _ in range(args.repeat):
            for ward in WARDS:
                p0 = time.perf_counter()
                publisher._push(ward)
                push_ms.append((time.perf_counter() - p0) * 1000)
        push_cpu_ms = (time.process_time() - cpu0) * 1000 / len(push_ms)
        event.remove(services.engine, "before_cursor_execute", count_push)
        patients = {w: len((publisher.snapshot(w) or {}).get("patients", [])) for w in WARDS}
    finally:
        services.stop()

    apply_ms = apply_s * 1000 / len(msgs)
    db = services.engine.dialect.name
    print(f"\n{len(msgs)} messages on {db}, batches of {args.batch}; ACK codes {codes}")
    print(f"  baseline: translate only, CPU {translate_ms:7.2f} ms/message")
    print(
        f"  apply (journal -> record)     {apply_ms:7.2f} ms/message wall, "
        f"{apply_cpu_ms:.2f} ms CPU ({apply_cpu_ms / translate_ms:4.1f}x baseline), "
        f"{len(msgs) / apply_s:4.0f} ADT/s, {statements[0] / len(msgs):.1f} SQL statements/message"
        f"; batch p50 {statistics.median(per_batch):.2f} ms/msg"
    )
    print(
        f"  board push (snapshot + kiosk) p50 {pct(push_ms, 50):6.2f} ms  "
        f"p99 {pct(push_ms, 99):6.2f} ms wall, {push_cpu_ms:.2f} ms CPU "
        f"({push_cpu_ms / translate_ms:4.1f}x baseline), "
        f"{push_statements[0] / len(push_ms):.1f} SQL statements/push"
    )
    print(f"  patients per ward {patients}")


if __name__ == "__main__":
    main()
