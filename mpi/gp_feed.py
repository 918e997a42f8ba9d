"""The nightly GP feed: every practice's registered list merged into the index.

The file is CSV with this header (UTF-8, one row per registered patient; see
docs/MPI_INDEX.md for the field rules and which source wins for which field)::

    practice_ods_code,practice_patient_id,nhs_number,family_name,given_names,date_of_birth,
    sex,address_line_1,address_line_2,address_line_3,address_line_4,postcode,previous_postcodes

Each row goes through the same ``resolve_identity`` as an ADT message, with the practice's id
as a local identifier (authority ``GP:<ODS code>``): known rows update, new rows are linked
(NHS number, or a probabilistic auto-link), queued for the clerks, or created. The GP list is
the source of truth for address, postcode and registered practice; the hospital's values win
for name, date of birth, sex and NHS number (the feed only fills blanks). Re-running the same
file changes nothing (a row identical to the one applied last time is skipped without touching
the record, so the steady-state nightly run costs little more than reading the file). A bad
row is reported with its line number and skipped; the rest go in.

A record the feed changes or links is announced like an ADT correction (``mpi.feed_events``):
one A08 per ``patient_changes`` subscriber and a refresh of the boards showing the patient;
a skipped or unchanged row announces nothing.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from config.db import utcnow
from mpi.feed_events import FeedAnnouncements, announced_fields, board_day
from mpi.feed_gc import collector_for_bulk_run
from mpi.feed_indexes import restore_missing
from mpi.gp_feed_bulk import SOURCE, import_chunks
from mpi.gp_feed_run import GpFeedRun
from mpi.history import PatientAddress
from mpi.models import Patient, PatientIdentifier
from mpi.records import normal_postcode
from mpi.resolve import DEFAULT_CONFIG, MatchConfig, resolve_identity
from whiteboard.auth.audit import CHANGED_BY
from whiteboard.commands import Identifier, PatientDetails
from whiteboard.errors import RecordError

if TYPE_CHECKING:
    from config.bootstrap import Services

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
GP_AUTHORITATIVE = frozenset({"address", "postcode", "gp_practice_code"})
BATCH = 500


class FeedFileError(ValueError):
    """The file as a whole cannot be read (missing columns, not CSV): nothing was imported."""


@dataclass(frozen=True)
class FeedRow:
    line: int
    details: PatientDetails
    previous_postcodes: tuple[str, ...]
    digest: str

    @property
    def key(self) -> str:
        ident = self.details.identifiers[0]
        return f"{ident.authority}|{ident.value}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def count_rows(path: Path) -> int:
    with path.open("rb") as fh:
        return max(sum(1 for _ in fh) - 1, 0)


def read_rows(path: Path, errors: list[dict[str, Any]]) -> Iterator[FeedRow]:
    """Parsed rows; a row that cannot be understood is added to ``errors`` and skipped."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in HEADER if c not in (reader.fieldnames or [])]
        if missing:
            raise FeedFileError(f"{path.name}: missing columns {', '.join(missing)}")
        for row in reader:
            line = reader.line_num
            try:
                yield _parse(line, row)
            except ValueError as exc:
                errors.append({"line": line, "error": str(exc)})


def first_of_each_key(rows: Iterator[FeedRow], errors: list[dict[str, Any]]) -> Iterator[FeedRow]:
    """A practice id listed twice in one file: the first row is used, later ones reported.

    Applying both would make the file contradict itself on every run (the first row would
    undo the second each night, so re-running the file would change the record again).
    """
    # By authority, then by the practice's id (the row's own string, which the bulk path's
    # view keeps as well): a 1.4 million-row list holds one entry a row here.
    seen: dict[str, dict[str, int]] = {}
    for row in rows:
        ident = row.details.identifiers[0]
        by_value = seen.get(ident.authority)
        if by_value is None:
            by_value = seen[ident.authority] = {}
        first = by_value.setdefault(ident.value, row.line)
        if first != row.line:
            errors.append(
                {
                    "line": row.line,
                    "error": f"practice_patient_id {row.details.identifiers[0].value} "
                    f"is already on line {first}; row skipped",
                }
            )
            continue
        yield row


def _parse(line: int, row: dict[str, str]) -> FeedRow:
    ods = (row["practice_ods_code"] or "").strip().upper()
    local = (row["practice_patient_id"] or "").strip()
    if not ods or not local:
        raise ValueError("practice_ods_code and practice_patient_id are required")
    raw_dob = (row["date_of_birth"] or "").strip()
    try:
        dob = date.fromisoformat(raw_dob) if raw_dob else None
    except ValueError:
        raise ValueError(f"date_of_birth {raw_dob!r} is not YYYY-MM-DD") from None
    sex = (row["sex"] or "").strip().upper()[:1] or None
    lines = [(row[f"address_line_{i}"] or "").strip() for i in range(1, 5)]
    previous = tuple(
        pc
        for pc in (normal_postcode(p) for p in (row["previous_postcodes"] or "").split(";"))
        if pc
    )
    details = PatientDetails(
        identifiers=(Identifier(local, f"GP:{ods}", "PI"),),
        nhs_number=(row["nhs_number"] or "").replace(" ", "") or None,
        family_name=(row["family_name"] or "").strip(),
        given_names=(row["given_names"] or "").strip(),
        date_of_birth=dob,
        sex=sex,
        address=", ".join(x for x in lines if x) or None,
        postcode=(row["postcode"] or "").strip() or None,
        gp_practice_code=ods,
    )
    digest = hashlib.blake2b(
        "\x1f".join((row.get(c) or "").strip() for c in HEADER).encode(), digest_size=16
    ).hexdigest()
    return FeedRow(line, details, previous, digest)


def import_file(
    services: Services,
    path: Path,
    *,
    progress: Callable[[int], None] | None = None,
    config: MatchConfig = DEFAULT_CONFIG,
    bulk: bool = True,
    chunk_size: int | None = None,
) -> GpFeedRun:
    """Import one file; the summary row is stored and returned.

    ``bulk`` (the default) decides a chunk of rows at a time against set-read state and writes
    with ``executemany`` (``mpi.gp_feed_bulk``); ``bulk=False`` sends each row through
    ``resolve_identity`` as an ADT message goes, committing every ``BATCH`` rows. Both give the
    same links, queue entries and patients (tests/integration/test_gp_feed_bulk.py), and both
    announce the records they change or link (``mpi.feed_events``): an A08 for each
    ``patient_changes`` subscriber, and a refresh of the boards showing the patient.
    """
    with services.uow_factory() as uow:
        run = GpFeedRun(file_name=path.name, sha256=file_sha256(path))
        uow.session.add(run)
        uow.commit()
        run_id = run.id
    # A bulk first load killed mid-way left some indexes out (``mpi.feed_indexes``).
    restore_missing(services.engine)
    counts: Counter[str] = Counter()
    errors: list[dict[str, Any]] = []
    applied = _applied_digests(services)
    rows = first_of_each_key(read_rows(path, errors), errors)
    # The record audit names the feed as the one changing the records it announces.
    token = CHANGED_BY.set((SOURCE, "system", ""))
    try:
        if bulk:
            with collector_for_bulk_run():  # full collections made rare (mpi.feed_gc)
                import_chunks(services, rows, applied, counts, config, progress, chunk_size)
        else:
            _import_per_row(services, rows, applied, counts, errors, config, progress)
        state = "done"
    except FeedFileError as exc:
        errors.append({"line": 0, "error": str(exc)})
        state = "failed"
    finally:
        CHANGED_BY.reset(token)
    with services.uow_factory() as uow:
        run = uow.session.get_one(GpFeedRun, run_id)
        counts["errors"] = len(errors)
        run.counts = dict(counts)
        run.errors = errors[:1000]
        run.state = state
        run.finished_at = utcnow()
        uow.commit()
    return run


def _import_per_row(
    services: Services,
    rows: Iterator[FeedRow],
    applied: dict[str, str],
    counts: Counter[str],
    errors: list[dict[str, Any]],
    config: MatchConfig,
    progress: Callable[[int], None] | None,
) -> None:
    """Each row through ``resolve_identity`` (the ADT path), committing every ``BATCH`` rows.

    ``resolve_identity`` raises no events (the ADT command handlers do, from its result), so
    the patients a batch changed or linked are noted here and announced in the batch's
    transaction; the bus hears of them once it has committed."""
    while True:
        batch = [r for _, r in zip(range(BATCH), rows, strict=False)]
        if not batch:
            break
        changed = FeedAnnouncements()
        with services.uow_factory() as uow:
            for row in batch:
                if applied.get(row.key) == row.digest:
                    counts["rows"] += 1
                    counts["unchanged"] += 1
                    continue
                _apply(uow.session, row, counts, errors, config, changed)
            changed.add_to(uow, board_day(services))
            uow.commit()
        for event in uow.collect_new_events():
            services.bus.publish(event)
        if progress is not None:
            progress(len(batch))


def _apply(
    session: Any,
    row: FeedRow,
    counts: Counter[str],
    errors: list[dict[str, Any]],
    config: MatchConfig,
    changed: FeedAnnouncements,
) -> None:
    counts["rows"] += 1
    try:
        res = resolve_identity(
            session, row.details, source="gp_feed", authoritative=GP_AUTHORITATIVE, config=config
        )
    except RecordError as exc:
        errors.append({"line": row.line, "error": exc.message})
        return
    changed.note(res.patient.id, announced_fields(res.created, res.tier, res.changed_fields))
    added = _previous_postcodes(session, res.patient, row.previous_postcodes)
    ident = row.details.identifiers[0]
    for held in res.patient.identifiers:
        if (held.authority, held.value) == (ident.authority, ident.value):
            held.source_hash = row.digest
    if res.created:
        counts["created"] += 1
    elif res.tier in ("nhs_number", "probabilistic"):
        counts["linked"] += 1
    elif res.changed_fields or added:
        counts["updated"] += 1
    else:
        counts["unchanged"] += 1
    if res.queued_with:
        counts["queued"] += len(res.queued_with)


def _applied_digests(services: Services) -> dict[str, str]:
    """Digests of the rows applied last time, so an unchanged row costs a dictionary look-up.

    About 150 bytes a row: 1.4 million registered patients take some 200 MB here.
    """
    with services.read_session() as session:
        rows = session.execute(
            select(
                PatientIdentifier.authority, PatientIdentifier.value, PatientIdentifier.source_hash
            )
            .where(PatientIdentifier.authority.like("GP:%"))
            .where(PatientIdentifier.source_hash.is_not(None))
            .execution_options(yield_per=50_000)
        )
        return {f"{a}|{v}": h for a, v, h in rows}


def _previous_postcodes(session: Any, patient: Patient, postcodes: tuple[str, ...]) -> bool:
    if not postcodes:
        return False
    known = set(
        session.scalars(
            select(PatientAddress.postcode).where(PatientAddress.patient_id == patient.id)
        )
    )
    known.add(patient.postcode)
    new = [pc for pc in dict.fromkeys(postcodes) if pc not in known]
    for pc in new:
        session.add(PatientAddress(patient_id=patient.id, address=None, postcode=pc, source="gp"))
    if new:
        from mpi.records import refresh_keys

        session.flush()
        refresh_keys(session, patient)
    return bool(new)


def import_folder(services: Services, folder: Path) -> list[GpFeedRun]:
    """The 02:00 job: import every ``*.csv`` in the drop folder not already imported."""
    if not folder.is_dir():
        return []
    runs = []
    with services.read_session() as session:
        done = set(session.scalars(select(GpFeedRun.sha256).where(GpFeedRun.state == "done")))
    for path in sorted(folder.glob("*.csv")):
        if file_sha256(path) in done:
            continue
        runs.append(import_file(services, path))
    return runs


def run_summary(run: GpFeedRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "file_name": run.file_name,
        "sha256": run.sha256,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "state": run.state,
        "counts": run.counts,
        "errors": run.errors[:50],
    }
