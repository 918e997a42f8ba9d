"""Scale of the master patient index: interactive look-up latency and the nightly GP feed.

Run from the repository root::

    python -m bench.mpi_scale --records 1400000          # the issue's target size
    python -m bench.mpi_scale --records 20000 --queries 2000

Steps, each with a progress bar:

1. generate ``--records`` synthetic people's records plus ``--queries`` more records (held out:
   duplicates and new people the index has not seen) with ``bench/synthetic_people.py``;
2. write them as a GP-feed CSV (the documented header) and import it into a fresh database in a
   child process, through the same ``import_file`` as ``run.py gp-feed import``: wall time and
   the child's peak resident memory (``ru_maxrss``) are the nightly feed figures;
3. the baseline measured in the same run: reading and parsing the same CSV without touching the
   database (rows/s), so the feed's cost is shown as a ratio to plain parsing;
4. interactive look-ups: each held-out record is searched (blocking-key look-ups and scoring,
   the registration desk's path), p50/p99 reported, with the ratio to an exact identifier
   look-up measured on the same database. ``--passes N`` runs the same look-ups N times in
   the same process and connection: pass 1 is a fresh process (SQLite's page cache empty;
   PostgreSQL's shared buffers as the server holds them), later passes are warm.
   ``--evict-os-cache`` first drops a SQLite file from the operating system's page cache
   (``posix_fadvise``), so pass 1 also reads the disk. The generated
   records the index was loaded from are freed before the look-ups: a server does not hold
   1.4 million synthetic records, and their garbage-collection passes would be measured.

``--feed-method bulk`` (default) or ``per-row`` picks the GP feed path measured;
``--per-row-sample N`` also imports the first N rows through the per-row path into a fresh
database (``--per-row-database-url``) as a same-run baseline; ``--feed-only`` skips look-ups.

Targets (issue 5): look-up p99 <= 10 ms at 1.4 million records; 1.4 million-row feed <= 5
minutes and <= 4 GB on the 2-core machine.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.synthetic_people import generate, progress_bar

HEADER = (
    "practice_ods_code",
    "practice_patient_id",
    "nhs_number",
    "family_name",
    "given_names",
    "date_of_birth",
    "sex",
    "address_line_1",
    "address_line_2",
    "address_line_3",
    "address_line_4",
    "postcode",
    "previous_postcodes",
)


def write_feed(records, path: Path) -> None:  # type: ignore[no-untyped-def]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i, r in enumerate(records):
            w.writerow(
                (
                    f"P{84000 + i % 50:05d}",
                    r.record_id,
                    r.nhs_number or "",
                    r.family_name,
                    r.given_names,
                    r.dob.isoformat() if r.dob else "",
                    r.sex or "",
                    r.address_line or "",
                    "",
                    "",
                    "",
                    r.postcode or "",
                    ";".join(r.previous_postcodes),
                )
            )


def child_import(url: str, path: Path, bulk: bool = True) -> None:
    """Runs in the child process: migrate, import, print the summary as JSON."""
    from config.bootstrap import bootstrap
    from config.migrate import upgrade
    from config.settings import Settings
    from mpi.gp_feed import count_rows, import_file

    settings = Settings(database_url=url, board_push_enabled=False, scheduler_enabled=False)
    services = bootstrap(settings)
    upgrade(services.engine)
    total = count_rows(path)
    done = 0
    show = progress_bar("feed import")

    def progress(n: int) -> None:
        nonlocal done
        done += n
        show(done, total)

    started = time.perf_counter()
    run = import_file(services, path, progress=progress, bulk=bulk)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The steady state: the same list again the next night (unchanged rows are skipped).
    started = time.perf_counter()
    again = import_file(services, path, bulk=bulk)
    rerun = time.perf_counter() - started
    services.stop()
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "peak_mib": peak,
                "counts": run.counts,
                "state": run.state,
                "rerun_seconds": rerun,
                "rerun_counts": again.counts,
            }
        )
    )


def bulk_load(url: str, records) -> float:  # type: ignore[no-untyped-def]
    """Load the index directly (patients, identifiers, blocking keys) without matching.

    Only for measuring look-ups at a size the row-by-row feed cannot reach in the time box:
    every record becomes its own patient, as if the index had no duplicates resolved.
    """
    from sqlalchemy import insert

    from config.db import make_engine
    from config.migrate import upgrade
    from mpi.history import BlockingKey
    from mpi.models import Patient, PatientIdentifier
    from mpi.records import keys_for, normal_postcode

    engine = make_engine(url)
    upgrade(engine)
    show = progress_bar("bulk load")
    started = time.perf_counter()
    batch = 5000
    with engine.begin() as conn:
        for start in range(0, len(records), batch):
            chunk = records[start : start + batch]
            first = start + 1
            conn.execute(
                insert(Patient.__table__),
                [
                    {
                        "id": first + i,
                        "nhs_number": r.nhs_number,
                        "family_name": r.family_name,
                        "given_names": r.given_names,
                        "date_of_birth": r.dob,
                        "sex": r.sex,
                        "address": r.address_line,
                        "postcode": normal_postcode(r.postcode),
                        "placeholder": False,
                        "dob_placeholder": r.dob_placeholder,
                    }
                    for i, r in enumerate(chunk)
                ],
            )
            conn.execute(
                insert(PatientIdentifier.__table__),
                [
                    {
                        "patient_id": first + i,
                        "authority": f"GP:P{84000 + (start + i) % 50:05d}",
                        "value": r.record_id,
                        "id_type": "PI",
                        "valid": True,
                        "link_source": "exact",
                        "link_state": "linked",
                    }
                    for i, r in enumerate(chunk)
                ],
            )
            conn.execute(
                insert(BlockingKey.__table__),
                [
                    {"key": k, "patient_id": first + i}
                    for i, r in enumerate(chunk)
                    for k in keys_for(r)
                ],
            )
            show(start + len(chunk), len(records))
    engine.dispose()
    return time.perf_counter() - started


def parse_only(path: Path) -> float:
    from mpi.gp_feed import read_rows

    started = time.perf_counter()
    n = sum(1 for _ in read_rows(path, []))
    return n / (time.perf_counter() - started)


def lookups(engine, queries, exact_ids: list[str]) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    """One pass over the held-out records: search each, then an exact identifier look-up."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from mpi.models import Patient, PatientIdentifier
    from mpi.records import person_record
    from mpi.resolve import search

    fuzzy: list[float] = []
    exact: list[float] = []
    show = progress_bar("look-ups")
    with Session(engine) as session:
        for i, q in enumerate(queries):
            rec = person_record(
                q.record_id,
                nhs=None,
                family_name=q.family_name,
                given_names=q.given_names,
                dob=q.dob,
                dob_placeholder=q.dob_placeholder,
                sex=q.sex,
                postcode=q.postcode,
                address=q.address_line,
            )
            t = time.perf_counter()
            search(session, rec)
            fuzzy.append((time.perf_counter() - t) * 1000)
            session.expunge_all()
            t = time.perf_counter()
            session.scalars(
                select(Patient)
                .join(PatientIdentifier)
                .where(PatientIdentifier.authority == f"GP:P{84000 + i % 50:05d}")
                .where(PatientIdentifier.value == exact_ids[i % len(exact_ids)])
            ).first()
            exact.append((time.perf_counter() - t) * 1000)
            session.expunge_all()
            if (i + 1) % 100 == 0 or i + 1 == len(queries):
                show(i + 1, len(queries))
    return fuzzy, exact


def evict_os_cache(url: str) -> None:
    """Drop a SQLite database's pages (and its WAL's) from the OS page cache, so the next
    read goes to disk: a cold start after a reboot or memory pressure, not a warm file."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        print("--evict-os-cache: only for a SQLite file; skipped", file=sys.stderr)
        return
    for suffix in ("", "-wal", "-shm"):
        path = Path(parsed.database + suffix)
        if path.exists():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def report_lookups(label: str, fuzzy: list[float], exact: list[float]) -> None:
    p50, p99 = pct(fuzzy, 50), pct(fuzzy, 99)
    e50 = pct(exact, 50)
    print(
        f"look-up (blocking + scoring), {label}: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
        f"mean {statistics.fmean(fuzzy):.2f} ms; exact identifier p50 {e50:.2f} ms "
        f"(ratio {p50 / e50:.1f}x); "
        f"target p99 <= 10 ms: {'met' if p99 <= 10 else 'NOT met'}"
    )


def run_child(url: str, feed: Path, method: str) -> dict:  # type: ignore[type-arg]
    """Import ``feed`` into ``url`` in a fresh process (its own peak RSS is the figure)."""
    child = subprocess.run(
        [sys.executable, "-m", "bench.mpi_scale", "--child", url, str(feed), method],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return json.loads(child.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def per_row_baseline(args: argparse.Namespace, indexed, workdir: Path, bulk_rate: float) -> None:  # type: ignore[no-untyped-def]
    """The per-row path on the first ``--per-row-sample`` rows, measured in this run."""
    sample = workdir / "feed_sample.csv"
    write_feed(indexed[: args.per_row_sample], sample)
    url = args.per_row_database_url or f"sqlite:///{workdir / 'per_row.sqlite'}"
    summary = run_child(url, sample, "per-row")
    rate = args.per_row_sample / summary["seconds"]
    print(
        f"baseline: per-row path, first {args.per_row_sample:,} rows: {summary['seconds']:.1f} s "
        f"({rate:,.0f} rows/s), counts {summary['counts']}; bulk is {bulk_rate / rate:.1f}x faster"
    )


def report_feed(
    args: argparse.Namespace, summary, peak_mib: float, feed_rate: float, parse_rate: float
) -> None:  # type: ignore[no-untyped-def]
    print(
        f"feed ({args.feed_method}): {summary['seconds']:.1f} s ({feed_rate:,.0f} rows/s), "
        f"peak RSS {peak_mib:,.0f} MiB, counts {summary['counts']}"
    )
    if "rerun_seconds" in summary:
        rerun_rate = args.records / summary["rerun_seconds"]
        print(
            f"re-run of the same feed: {summary['rerun_seconds']:.1f} s ({rerun_rate:,.0f} rows/s),"
            f" counts {summary['rerun_counts']}; 1.4M rows at this rate: "
            f"{1_400_000 / rerun_rate / 60:.1f} min"
        )
    print(
        f"baseline: CSV read+parse only {parse_rate:,.0f} rows/s; feed is "
        f"{parse_rate / feed_rate:.0f}x slower than parsing"
    )
    print(f"1.4M-row feed at this rate: {1_400_000 / feed_rate / 60:.1f} min (target 5 min)")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_400_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    parser.add_argument(
        "--lookups-only",
        action="store_true",
        help="skip the import: --database-url already holds this --records/--seed feed",
    )
    parser.add_argument(
        "--bulk-load",
        action="store_true",
        help="load the index directly without matching (look-up figures only, larger sizes)",
    )
    parser.add_argument(
        "--feed-method",
        choices=("bulk", "per-row"),
        default="bulk",
        help="the GP feed path to measure (bulk: chunked set reads and executemany writes)",
    )
    parser.add_argument(
        "--per-row-sample",
        type=int,
        default=0,
        help="baseline: also import the first N rows through the per-row path (fresh database)",
    )
    parser.add_argument(
        "--per-row-database-url", help="database for the per-row baseline (default: SQLite)"
    )
    parser.add_argument("--feed-only", action="store_true", help="skip the look-up figures")
    parser.add_argument(
        "--passes",
        type=int,
        default=2,
        help="run the look-ups this many times in one process (1: cold SQLite cache; 2+: warm)",
    )
    parser.add_argument(
        "--evict-os-cache",
        action="store_true",
        help="drop the SQLite file from the OS page cache before the look-ups (a cold disk)",
    )
    parser.add_argument(
        "--child", nargs=3, metavar=("URL", "CSV", "METHOD"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        child_import(args.child[0], Path(args.child[1]), bulk=args.child[2] == "bulk")
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="mpi_scale_"))
    url = args.database_url or f"sqlite:///{workdir / 'mpi.sqlite'}"
    data = generate(args.records + args.queries, args.seed, progress=progress_bar("generating"))
    indexed, queries = data.records[: args.records], data.records[args.records :]
    feed = workdir / "feed.csv"
    write_feed(indexed, feed)
    parse_rate = parse_only(feed)
    if args.bulk_load:
        seconds = bulk_load(url, indexed)
        summary, peak_mib, feed_rate = {"seconds": float("nan"), "counts": {}}, 0.0, float("nan")
        print(f"bulk load (no matching, look-up measurement only): {seconds:.0f} s")
    elif args.lookups_only:
        summary, peak_mib, feed_rate = {"seconds": float("nan"), "counts": {}}, 0.0, float("nan")
    else:
        summary = run_child(url, feed, args.feed_method)
        peak_mib = summary["peak_mib"]
        feed_rate = args.records / summary["seconds"]
    print(f"database: {url}", file=sys.stderr)
    if args.per_row_sample and not (args.bulk_load or args.lookups_only):
        per_row_baseline(args, indexed, workdir, feed_rate)
    if args.feed_only:
        report_feed(args, summary, peak_mib, feed_rate, parse_rate)
        return 0
    exact_ids = [r.record_id for r in indexed[:1000]]
    del data, indexed
    gc.collect()
    if args.evict_os_cache:
        evict_os_cache(url)
    from config.db import make_engine

    engine = make_engine(url)  # one engine: later passes reuse the connection and its cache
    passes = [lookups(engine, queries, exact_ids) for _ in range(max(args.passes, 1))]
    engine.dispose()
    print(f"\nMPI scale: {args.records:,} records, {args.queries:,} look-ups, {url.split(':')[0]}")
    feed_ran = not (args.bulk_load or args.lookups_only)
    if feed_ran:
        report_feed(args, summary, peak_mib, feed_rate, parse_rate)
    for number, (fuzzy, exact) in enumerate(passes, start=1):
        cache = "OS cache evicted, " if args.evict_os_cache and number == 1 else ""
        state = "fresh process and connection" if number == 1 else "warm, same connection"
        report_lookups(f"pass {number} ({cache}{state})", fuzzy, exact)
    if feed_ran:
        projected = 1_400_000 / feed_rate
        print(
            f"target: 1.4M feed at this rate would take {projected / 60:.0f} min (target 5 min):"
            f" {'met' if projected <= 300 else 'NOT met'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
