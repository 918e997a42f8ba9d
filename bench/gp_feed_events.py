"""What announcing the GP feed's changes costs the bulk feed (A08s, board refreshes, audit).

    python -m bench.gp_feed_events --records 20000 [--postgres-url postgresql+psycopg://...]

One process, one synthetic list (``bench/synthetic_people.py``), each mode into a fresh
database (SQLite files in a temp dir, or new databases on ``--postgres-url``'s server):

- ``silent``: announcements switched off (``FeedAnnouncements.add_to`` drops what it noted):
  the feed as it was before it propagated; the baseline of the ratios;
- ``announced``: ``PatientDetailsCorrected`` per changed or linked patient, record-audited and
  published per chunk, no downstream subscriber configured (what ``bench.mpi_scale`` runs);
- ``subscribers``: the same with two ``patient_changes`` subscribers, so every announcement
  also builds and queues two A08s (nothing is sent: no sender runs).

Three imports per mode: the list into an empty index (every link to a record created earlier
in the same list is announced: the worst case), the same list again (all rows unchanged, the
steady state), and a next-night list in which ``--moved`` people have a new address (each one
announced). ``--rounds`` repeats the modes in turn, to see the machine's noise.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

from bench.mpi_scale import write_feed
from bench.synthetic_people import generate

MODES = ("silent", "announced", "subscribers")


def _moved(src: Path, dst: Path, every: int) -> int:
    """The same list with every ``every``-th person moved to a new address."""
    n = 0
    with src.open(newline="", encoding="utf-8") as fin, dst.open("w", newline="") as fout:
        reader = csv.DictReader(fin)
        writer = csv.DictWriter(fout, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        for i, row in enumerate(reader):
            if i % every == 0:
                row["address_line_1"] = f"{i} Moved Street"
                row["postcode"] = "M41 0AA"
                n += 1
            writer.writerow(row)
    return n


class _Databases:
    """Fresh empty databases: SQLite files, or new databases on a PostgreSQL server."""

    def __init__(self, workdir: Path, server_url: str | None) -> None:
        self.workdir = workdir
        self.server_url = server_url
        self.made: list[str] = []

    def fresh(self) -> str:
        name = f"gpev_{uuid.uuid4().hex[:10]}"
        if not self.server_url:
            return f"sqlite:///{self.workdir / name}.sqlite"
        admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.made.append(name)
        return self.server_url.rsplit("/", 1)[0] + f"/{name}"

    def drop_all(self) -> None:
        if not self.server_url:
            return
        admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def run_mode(mode: str, url: str, files: list[Path], workdir: Path) -> dict[str, Any]:
    from config.bootstrap import bootstrap
    from config.migrate import upgrade
    from config.settings import Settings
    from integration.outbound.queue import OutboundMessage
    from mpi.events import PatientDetailsCorrected
    from mpi.feed_events import FeedAnnouncements
    from mpi.gp_feed import import_file

    destinations = ""
    if mode == "subscribers":
        dest = workdir / "destinations.toml"
        dest.write_text(
            '[destinations.MIRROR]\nhost = "127.0.0.1"\nport = 9\n'
            '[destinations.PASCOPY]\nhost = "127.0.0.1"\nport = 9\n'
            '[subscribers]\npatient_changes = ["MIRROR", "PASCOPY"]\n'
        )
        destinations = str(dest)
    settings = Settings(
        database_url=url,
        board_push_enabled=False,
        scheduler_enabled=False,
        hl7_destinations_file=destinations,
    )
    services = bootstrap(settings)
    upgrade(services.engine)
    announced: list[Any] = []
    services.bus.event_handlers.setdefault(PatientDetailsCorrected, []).append(announced.append)
    original = FeedAnnouncements.add_to
    if mode == "silent":
        FeedAnnouncements.add_to = lambda self, uow, today: self.__init__()  # type: ignore[method-assign]
    out: dict[str, Any] = {"seconds": [], "announced": [], "outbound": []}
    try:
        for path in files:
            before = len(announced)
            started = time.perf_counter()
            run = import_file(services, path)
            out["seconds"].append(time.perf_counter() - started)
            assert run.state == "done", run.errors[:3]
            out["announced"].append(len(announced) - before)
            with services.read_session() as s:
                out["outbound"].append(s.scalar(select(func.count(OutboundMessage.id))))
    finally:
        FeedAnnouncements.add_to = original  # type: ignore[method-assign]
        services.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--moved", type=int, default=1000, help="people moved on night two")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--postgres-url", help="a PostgreSQL server (its postgres database)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="gp_feed_events_"))
    first = workdir / "night1.csv"
    write_feed(generate(args.records, args.seed).records, first)
    second = workdir / "night2.csv"
    moved = _moved(first, second, max(args.records // args.moved, 1))
    files = [first, first, second]
    labels = ("empty index", "same list again", f"{moved:,} moved")
    dbs = _Databases(workdir, args.postgres_url)
    results: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
    try:
        for _ in range(args.rounds):
            for mode in MODES:
                results[mode].append(run_mode(mode, dbs.fresh(), files, workdir))
    finally:
        dbs.drop_all()
    kind = "PostgreSQL" if args.postgres_url else "SQLite"
    print(f"\nGP feed (bulk), {args.records:,} rows, {kind}, {args.rounds} round(s)")
    for i, label in enumerate(labels):
        base = min(r["seconds"][i] for r in results["silent"])
        print(f"  {label}:")
        for mode in MODES:
            best = min(r["seconds"][i] for r in results[mode])
            every = ", ".join(f"{r['seconds'][i]:.2f}" for r in results[mode])
            last = results[mode][-1]
            queued = last["outbound"][i] - (last["outbound"][i - 1] if i else 0)
            print(
                f"    {mode:<12} best {best:6.2f} s ({args.records / best:7,.0f} rows/s, "
                f"x{best / base:.2f} of silent)  runs [{every}]  "
                f"announced {last['announced'][i]:,}, A08s queued {queued:,}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
