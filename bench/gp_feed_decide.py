"""The bulk GP feed's deciding thread alone: a first load with the writer replaced by a no-op.

Run from the repository root::

    python -m bench.gp_feed_decide --records 100000            # generates the feed (seed 7)
    python -m bench.gp_feed_decide --csv feed.csv               # an existing feed file

The feed is the one ``bench/mpi_scale.py`` writes for the same ``--records`` and ``--seed``.
It is imported into a fresh, migrated SQLite file through ``mpi.gp_feed.import_file`` (bulk
path) with ``ChunkWriter``'s write replaced by a no-op that keeps what it was handed: every
chunk is decided against the run's in-memory view as in a real first load, nothing is
stored. Printed: the wall and CPU time of the import, the counts, and a digest of every
decision with ``--digest`` (patients, identifiers, history, keys, audit events and queue
pairs the chunks would have written, without timestamps), so two versions of the code can be
compared for identical decisions as well as for time. ``--profile FILE`` runs under
cProfile instead; ``--gc off`` without the garbage collector (its cost).

Why: in a real run the writer thread takes the GIL from the deciding thread, so the deciding
part's own cost cannot be read off a full run (docs/BENCHMARKS.md, 2026-12-01 night).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

_CLOCKS = {"at", "linked_at", "recorded_at", "created_at", "updated_at", "b_updated_at"}


def _digest_rows(digest: Any, name: str, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        plain = {k: v for k, v in row.items() if k not in _CLOCKS}
        digest.update(name.encode())
        digest.update(json.dumps(plain, sort_keys=True, default=str).encode())


def run(
    csv_path: Path,
    workdir: Path,
    profile: str | None = None,
    digest_writes: bool = False,
    gc_mode: str = "on",
) -> dict[str, Any]:
    from config.bootstrap import bootstrap
    from config.migrate import upgrade
    from config.settings import Settings
    from mpi import feed_write
    from mpi.gp_feed import import_file

    digest = hashlib.sha256()

    def no_write(self: Any, writes: Any, changed: Any) -> tuple[bool, Any, list[Any]]:
        for name in writes.__slots__ if digest_writes else ():
            _digest_rows(digest, name, getattr(writes, name))
        return True, self._expected, []

    feed_write.ChunkWriter._write = no_write  # type: ignore[method-assign]
    url = f"sqlite:///{workdir / 'decide.sqlite'}"
    settings = Settings(database_url=url, board_push_enabled=False, scheduler_enabled=False)
    services = bootstrap(settings)
    upgrade(services.engine)
    gc_seconds, gc_runs, started = [0.0], Counter(), [0.0]

    def gc_clock(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            gc_seconds[0] += time.perf_counter() - started[0]
            gc_runs[info["generation"]] += 1

    gc.callbacks.append(gc_clock)
    if gc_mode == "off":
        gc.disable()
    wall, cpu = time.perf_counter(), time.process_time()
    if profile:
        import cProfile

        prof = cProfile.Profile()
        feed_run = prof.runcall(import_file, services, csv_path)
        prof.dump_stats(profile)
    else:
        feed_run = import_file(services, csv_path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    gc.enable()
    gc.callbacks.remove(gc_clock)
    services.stop()
    return {
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "gc_seconds": round(gc_seconds[0], 2),
        "gc_runs": dict(sorted(gc_runs.items())),
        "counts": feed_run.counts,
        "decisions_sha256": digest.hexdigest() if digest_writes else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--csv", type=Path, help="an existing feed file (no generation)")
    parser.add_argument("--profile", help="write a cProfile dump here")
    parser.add_argument(
        "--digest",
        action="store_true",
        help="digest every decided row (costs time in the no-op writer: not for timing)",
    )
    parser.add_argument(
        "--gc",
        choices=("on", "off"),
        default="on",
        help="off: the garbage collector disabled for the import (how much it costs)",
    )
    parser.add_argument("--gc-young", type=int, help="mpi.feed_gc.YOUNG for this run")
    parser.add_argument("--gc-old", type=int, help="mpi.feed_gc.OLD for this run")
    args = parser.parse_args(argv)
    if args.gc_young or args.gc_old:
        from mpi import feed_gc

        feed_gc.YOUNG = args.gc_young or feed_gc.YOUNG
        feed_gc.OLD = args.gc_old or feed_gc.OLD
    workdir = Path(tempfile.mkdtemp(prefix="gp_feed_decide_"))
    csv_path = args.csv
    if csv_path is None:
        from bench.mpi_scale import write_feed
        from bench.synthetic_people import generate

        csv_path = workdir / "feed.csv"
        write_feed(generate(args.records, args.seed).records, csv_path)
    print(json.dumps(run(csv_path, workdir, args.profile, args.digest, args.gc)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
