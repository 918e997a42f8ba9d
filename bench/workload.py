"""The managers' workload view on a 40-ward, 1,000-bed hospital with every ward's nurses
allocated: what it costs beyond building the boards it reads.

Builds the hospital of ``bench/board_alerts.py`` through the real commands, adds 120 nurses
and allocates each ward's bays among three of them (plus a side-room bed each) through
``SetNurseAllocation``. Then, in the same process and alternating so load affects both alike:

- baseline: every ward's snapshot with its alerts (``publisher.snapshot`` x 40, what the
  boards' API builds; the workload view cannot cost less than reading them);
- workload: ``current_workload()`` (the same 40 snapshots, one allocation query, and the
  per-doctor, per-nurse and per-ward counts) - what ``GET /api/v1/workload`` and the page do.

Prints p50/p99 of each and the ratio workload/baseline.

    python bench/workload.py [--iterations 30] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.board_alerts import NOW, build_hospital, hospital_app, line, percentile  # noqa: E402
from whiteboard import clinical_commands as cc  # noqa: E402

NURSES_PER_WARD = 3


def allocate(services) -> int:
    """Three nurses per ward share its bays; each also has one bed of their own."""
    from sqlalchemy import select

    from whiteboard.auth import accounts
    from whiteboard.models import Ward
    from whiteboard.shifts import ShiftTimes, shift_at

    shift = shift_at(NOW, ShiftTimes.from_settings(services.settings))
    with services.read_session() as s:
        wards = [
            (w.code, [b.code for b in w.bays], [b.code for b in w.beds])
            for w in s.scalars(select(Ward).order_by(Ward.position))
        ]
    with services.uow_factory() as uow:
        for i in range(len(wards) * NURSES_PER_WARD):
            accounts.add_user(uow.session, f"rn{i:03d}", "nurse", display_name=f"Nurse {i:03d}")
        uow.commit()
    rows = 0
    for w, (code, bays, beds) in enumerate(wards):
        names = [f"rn{w * NURSES_PER_WARD + k:03d}" for k in range(NURSES_PER_WARD)]
        assignments = tuple(
            cc.NurseAssignment(
                name,
                tuple(bays[k::NURSES_PER_WARD]),
                (beds[-1 - k],) if len(beds) > NURSES_PER_WARD else (),
            )
            for k, name in enumerate(names)
        )
        services.bus.handle(
            cc.SetNurseAllocation(
                NOW,
                ward=code,
                shift_date=shift.date,
                shift=shift.name,
                actor="bench",
                assignments=assignments,
            )
        )
        rows += sum(len(a.bays) + len(a.beds) for a in assignments)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    def progress(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    from sqlalchemy import select

    from whiteboard.models import Ward
    from whiteboard.web.workload import current_workload

    with tempfile.TemporaryDirectory() as tmp:
        app, services = hospital_app(tmp, args.database_url, board_push_enabled=False)
        progress(f"building the hospital on {services.engine.dialect.name} ...")
        stays = build_hospital(services, progress)
        allocated = allocate(services)
        with services.read_session() as s:
            codes = list(s.scalars(select(Ward.code).order_by(Ward.position)))
        baseline: list[float] = []
        workload: list[float] = []
        with app.test_request_context():
            body = current_workload()  # warm both paths once
            for _ in range(args.iterations):
                started = time.perf_counter()
                for code in codes:
                    services.publisher.snapshot(code)
                baseline.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                body = current_workload()
                workload.append((time.perf_counter() - started) * 1000)
        services.stop()
    patients = sum(len(v) for v in stays.values())
    in_beds = sum(n["patients"] for n in body["nurses"])
    load = os.getloadavg()
    print(
        f"Workload view, {services.engine.dialect.name}: 40 wards, {patients} patients, "
        f"{len(body['doctors'])} doctors, {len(body['nurses'])} nurse rows "
        f"({in_beds} patients in beds), {allocated} bays/beds allocated; "
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    print(line("baseline: 40 snapshots with alerts", baseline))
    print(line("workload: current_workload()", workload))
    print(
        f"  ratio workload/baseline: p50 {percentile(workload, 50) / percentile(baseline, 50):.2f}x"
        f"  p99 {percentile(workload, 99) / percentile(baseline, 99):.2f}x"
    )


if __name__ == "__main__":
    main()
