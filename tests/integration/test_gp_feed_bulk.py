"""The bulk GP feed decides every row as the per-row path does (SQLite and PostgreSQL).

One file of hard cases (hospital patients already on file, an NHS-number link that fills the
practice and moves the address, a probabilistic link that fills a blank NHS number, twins and
namesakes for the clerks, an invalid NHS number two rows share, a merged record's number, an
A&E-style placeholder, the same practice id twice, previous postcodes, a bad row) plus a few
hundred synthetic people with their duplicates is imported into the same seeded index three
times: row by row, in bulk with the default chunk, and in bulk with a chunk of 7 rows (so rows
depend on rows committed by earlier chunks). Everything the feed writes -- patients, links,
queue entries, history, blocking keys, identity audit events, the run's counts -- must come out
the same, with patients compared by creation order (their ids may differ: PostgreSQL hands the
bulk path ids a batch at a time). The patients each path announces (``PatientDetailsCorrected``
on the bus, with the fields changed) must be the same too. Re-running the file in bulk then
changes nothing and announces nothing.
"""

from __future__ import annotations

import csv
import functools
import gc
from collections import Counter
from datetime import date
from pathlib import Path

from sqlalchemy import delete, func, select, text

from bench.gp_feed_compare import snapshot
from bench.synthetic_people import generate
from mpi.audit import IdentityEvent
from mpi.events import PatientDetailsCorrected
from mpi.feed_view import ChunkView
from mpi.gp_feed import HEADER, import_file
from mpi.gp_feed_run import GpFeedRun
from mpi.history import BlockingKey, PatientAddress, PatientName
from mpi.merge import merge_patients
from mpi.merge_record import MergeRecord
from mpi.models import Patient, PatientIdentifier
from mpi.resolve import MatchConfig, resolve_identity
from mpi.review import ReviewPair
from whiteboard.commands import Identifier, PatientDetails

MPI_TABLES = (
    ReviewPair,
    IdentityEvent,
    MergeRecord,
    BlockingKey,
    PatientAddress,
    PatientName,
    PatientIdentifier,
    GpFeedRun,
)


def _hospital(mrn: str, nhs: str | None, authority: str = "WGH", **fields) -> PatientDetails:
    base = dict(
        family_name="JONES",
        given_names="John",
        date_of_birth=date(1958, 3, 12),
        sex="M",
        address="1 Church Road, Sale",
        postcode="M33 7XX",
    )
    return PatientDetails(
        identifiers=(Identifier(mrn, authority, "MR"),), nhs_number=nhs, **{**base, **fields}
    )


def _seed(services) -> None:
    """The hospital's index before the feed: ADT registrations and one merge."""
    with services.uow_factory() as uow:
        s = uow.session
        resolve_identity(s, _hospital("H1", "9990000018"))
        resolve_identity(
            s,
            _hospital(
                "H2",
                None,
                family_name="OKAFOR",
                given_names="Adaeze",
                date_of_birth=date(1990, 7, 1),
                sex="F",
                address="3 Oak Road, Fallowfield",
                postcode="M14 4PX",
            ),
        )
        a = resolve_identity(
            s, _hospital("H3", None, family_name="BRENNAN", given_names="Mary", postcode="M41 0AA")
        ).patient.id
        b = resolve_identity(
            s,
            _hospital(
                "H4",
                None,
                family_name="BRENNAN",
                given_names="Maria",
                date_of_birth=date(1961, 6, 15),
                postcode="M41 0AA",
            ),
        ).patient.id
        # Already on a practice list the hospital received before (identifier tier).
        resolve_identity(
            s,
            _hospital(
                "K1",
                None,
                "GP:P84009",
                family_name="WARD",
                given_names="Alan",
                date_of_birth=date(1949, 4, 4),
                postcode="M32 8AA",
            ),
        )
        uow.commit()
    with services.uow_factory() as uow:
        merge_patients(uow.session, a, b, actor="clerk")
        uow.commit()


def _row(ods: str, local: str, **fields: str) -> dict[str, str]:
    return {"practice_ods_code": ods, "practice_patient_id": local, **fields}


HARD_ROWS = [
    # Known by its practice id: the list moves him (an update, with address history).
    _row(
        "P84009",
        "K1",
        family_name="Ward",
        given_names="Alan",
        date_of_birth="1949-04-04",
        sex="M",
        address_line_1="2 Moss Lane",
        postcode="M33 6GB",
    ),
    # NHS-number link to H1: the GP list moves the address and sets the practice.
    _row(
        "P84001",
        "G1",
        nhs_number="999 000 0018",
        family_name="Jones",
        given_names="John",
        date_of_birth="1958-03-12",
        sex="M",
        address_line_1="9 New Street",
        address_line_2="Urmston",
        postcode="m41 0aa",
        previous_postcodes="M33 7XX;M32 9AB",
    ),
    # Probabilistic link to H2 (no NHS number on file): fills it.
    _row(
        "P84001",
        "G2",
        nhs_number="9990000026",
        family_name="Okafor",
        given_names="Adaeze",
        date_of_birth="1990-07-01",
        sex="F",
        address_line_1="3 Oak Road",
        postcode="M14 4PX",
    ),
    # Close to the survivor of a merge (and to the merged record, which is never a candidate).
    _row(
        "P84002",
        "G3",
        family_name="Brennan",
        given_names="Mary",
        date_of_birth="1958-12-03",
        sex="F",
        address_line_1="1 Church Road",
        postcode="M41 0AA",
    ),
    # Twins: same surname, date of birth and address, different forenames.
    _row(
        "P84003",
        "T1",
        family_name="Patel",
        given_names="Ravi",
        date_of_birth="2001-05-20",
        sex="M",
        address_line_1="12 Elm Way",
        postcode="M20 2AB",
    ),
    _row(
        "P84003",
        "T2",
        family_name="Patel",
        given_names="Rohan",
        date_of_birth="2001-05-20",
        sex="M",
        address_line_1="12 Elm Way",
        postcode="M20 2AB",
    ),
    # Two people sharing one invalid NHS number: the second cannot take it (clerks' queue).
    _row(
        "P84004",
        "X1",
        nhs_number="1234567890",
        family_name="Shaw",
        given_names="Helen",
        date_of_birth="1970-02-02",
        sex="F",
        postcode="M33 2QQ",
    ),
    _row(
        "P84004",
        "X2",
        nhs_number="1234567890",
        family_name="Lowe",
        given_names="Peter",
        date_of_birth="1944-09-30",
        sex="M",
        postcode="WA15 8AA",
    ),
    # A stand-in record: created, never matched on its made-up name.
    _row("P84005", "U1", family_name="Unknown", given_names="Male", date_of_birth="1980-01-01"),
    # A bad date: reported with its line, the rest go in.
    _row("P84005", "B1", family_name="Bad", date_of_birth="03/02/1999"),
    # The same person registered at a second practice, NHS number only on this list.
    _row(
        "P84006",
        "G1B",
        nhs_number="9990000018",
        family_name="Jones",
        given_names="Johnny",
        date_of_birth="1958-03-12",
        sex="M",
        address_line_1="9 New Street",
        postcode="M41 0AA",
    ),
    # Someone else's NHS number (H1's, on a woman born 32 years later): disputed, so a new
    # person and a queue entry, the holder untouched.
    _row(
        "P84008",
        "D1",
        nhs_number="9990000018",
        family_name="Jones",
        given_names="Sarah",
        date_of_birth="1990-05-05",
        sex="F",
        address_line_1="9 New Street",
        postcode="M41 0AA",
    ),
    # The same practice id twice: the first row is used, the second reported.
    _row(
        "P84001",
        "G2",
        nhs_number="9990000026",
        family_name="Okafor",
        given_names="Adaeze",
        date_of_birth="1990-07-01",
        sex="F",
        address_line_1="40 Wilbraham Road",
        postcode="M16 8LN",
    ),
    # Nickname and a day/month swap of a twin: scored against both twins.
    _row(
        "P84007",
        "T3",
        family_name="Patel",
        given_names="Ravi",
        date_of_birth="2001-05-20",
        sex="M",
        address_line_1="12 Elm Way",
        postcode="M20 2AB",
        previous_postcodes="M20 9ZZ",
    ),
]


def _write(path: Path, hard: list[dict[str, str]], synthetic: int) -> Path:
    data = generate(synthetic, 11)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=HEADER)
        w.writeheader()
        # Hard cases first, again in the middle (linking to what the synthetic rows created),
        # so they fall in several chunks.
        for row in hard:
            w.writerow({k: row.get(k, "") for k in HEADER})
        for i, r in enumerate(data.records):
            w.writerow(
                {
                    "practice_ods_code": f"P8{i % 5:04d}",
                    "practice_patient_id": r.record_id,
                    "nhs_number": r.nhs_number or "",
                    "family_name": r.family_name,
                    "given_names": r.given_names,
                    "date_of_birth": r.dob.isoformat() if r.dob else "",
                    "sex": r.sex or "",
                    "address_line_1": r.address_line or "",
                    "postcode": r.postcode or "",
                    "previous_postcodes": ";".join(r.previous_postcodes),
                }
            )
            if i == synthetic // 2:
                for row in hard:
                    moved = {**row, "practice_patient_id": row["practice_patient_id"] + "M"}
                    w.writerow({k: moved.get(k, "") for k in HEADER})
    return path


def _wipe(services) -> None:
    """Back to an empty index (ids restart, as in a fresh database)."""
    with services.uow_factory() as uow:
        s = uow.session
        if s.bind.dialect.name == "postgresql":
            tables = ", ".join(m.__tablename__ for m in (*MPI_TABLES, Patient))
            s.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            uow.commit()
            return
        for model in MPI_TABLES:
            s.execute(delete(model))
        s.execute(Patient.__table__.update().values(merged_into_id=None))
        s.execute(delete(Patient))
        uow.commit()


def _import(services, path: Path, **kw):
    run = import_file(services, path, **kw)
    assert run.state == "done"
    return run


def _import_announced(services, path: Path, **kw):
    """The run, and what it published: patient (by creation order) -> fields changed, wards."""
    seen: list[PatientDetailsCorrected] = []
    handlers = services.bus.event_handlers.setdefault(PatientDetailsCorrected, [])
    handlers.append(seen.append)
    try:
        run = _import(services, path, **kw)
    finally:
        handlers.remove(seen.append)
    with services.read_session() as s:
        rank = {pid: n for n, pid in enumerate(s.scalars(select(Patient.id).order_by(Patient.id)))}
    fields: dict[int, dict[str, None]] = {}
    wards: dict[int, dict[str, None]] = {}
    for event in seen:  # a patient may be announced once per transaction
        fields.setdefault(rank[event.patient_id], {}).update(dict.fromkeys(event.fields))
        wards.setdefault(rank[event.patient_id], {}).update(dict.fromkeys(event.wards))
    return run, {who: (tuple(fields[who]), tuple(wards[who])) for who in fields}


def test_bulk_feed_decides_like_the_per_row_path_and_a_rerun_changes_nothing(services, tmp_path):
    path = _write(tmp_path / "gp.csv", HARD_ROWS, synthetic=240)

    _seed(services)
    per_row, announced = _import_announced(services, path, bulk=False)
    expected = snapshot(services)
    # Links (of each kind) and the list's new addresses are announced; new people are not.
    assert any("identifiers" in f for f, _ in announced.values())
    assert any("postcode" in f for f, _ in announced.values())
    assert len(announced) <= per_row.counts["linked"] + per_row.counts["updated"]
    # The file exercises what it claims to: links of each kind, the queue, history, an error.
    assert per_row.counts["linked"] >= 5 and per_row.counts["queued"] >= 3
    assert per_row.counts["errors"] == 4 and per_row.counts["updated"] >= 1
    assert sum("is already on line" in e["error"] for e in per_row.errors) == 2
    found_by = {p[5] for p in expected["pairs"]}
    assert {"gp_feed", "gp_feed:identifier"} <= found_by
    assert {link[5] for link in expected["links"]} >= {"exact", "probabilistic"}
    assert any(source == "gp" for _, _, _, source in expected["addresses"])

    for chunk_size in (None, 7):
        _wipe(services)
        _seed(services)
        bulk, got_announced = _import_announced(services, path, chunk_size=chunk_size)
        assert got_announced == announced
        got = snapshot(services)
        assert bulk.counts == per_row.counts
        for part in expected:
            assert got[part] == expected[part], f"{part} differ (chunk size {chunk_size})"

    rerun, rerun_announced = _import_announced(services, path)
    assert rerun_announced == {}
    rows = per_row.counts["rows"]
    assert rerun.counts == {"rows": rows, "unchanged": rows, "errors": 4}
    after = snapshot(services)
    assert after["runs"][:-1] == got["runs"]
    assert {k: v for k, v in after.items() if k != "runs"} == {
        k: v for k, v in got.items() if k != "runs"
    }


def test_bulk_feed_with_small_blocks_decides_like_the_per_row_path(services, tmp_path):
    """A ``max_block`` of 1 makes every shared key over-full (the bulk path reads at most 2
    members of a block, the per-row path's ``LIMIT``); the decisions must be the same."""
    path = _write(tmp_path / "gp.csv", HARD_ROWS, synthetic=240)
    config = MatchConfig(max_block=1)
    _seed(services)
    per_row = _import(services, path, bulk=False, config=config)
    expected = snapshot(services)
    for chunk_size in (None, 7):
        _wipe(services)
        _seed(services)
        bulk = _import(services, path, chunk_size=chunk_size, config=config)
        got = snapshot(services)
        assert bulk.counts == per_row.counts
        for part in expected:
            assert got[part] == expected[part], f"{part} differ (chunk size {chunk_size})"


def test_capped_block_is_read_in_full_once_a_stored_member_leaves_it(services):
    """The feed's rules only ever add keys to a stored record (old names and postcodes stay
    as history), but the view must stay exact if one is taken away: an over-full block read
    up to its cap is read again in full when a stored member loses the key."""
    with services.uow_factory() as uow:
        s = uow.session
        ids = []
        for n in range(4):
            patient = Patient(family_name=f"P{n}", given_names="X", identifiers=[])
            s.add(patient)
            s.flush()
            ids.append(patient.id)
        s.add_all(BlockingKey(key=key, patient_id=pid) for pid in ids for key in ("K:A", "K:B"))
        s.add(BlockingKey(key="K:C", patient_id=ids[0]))
        uow.commit()
    with services.uow_factory() as uow:
        conn = uow.session.connection()
        capped = ChunkView(conn, "test", block_cap=4)
        plain = ChunkView(conn, "test")
        for view in (capped, plain):
            view.load_patients(ids)
            view.load_blocks(["K:A", "K:B", "K:C"])
        assert capped.full == {"K:A", "K:B"} and capped.hits(["K:A", "K:B"], 3) == Counter()
        assert capped.hits(["K:A", "K:C"], 3) == plain.hits(["K:A", "K:C"], 3)
        for view in (capped, plain):  # the first record loses K:A: 3 members, under the cap
            view.set_keys(view.patient(ids[0]), {"K:B", "K:C"})
        assert capped.lost == {"K:A"}
        assert capped.hits(["K:A", "K:B", "K:C"], 3) == plain.hits(["K:A", "K:B", "K:C"], 3)
        assert capped.hits(["K:A"], 3) == Counter(ids[1:])
        assert capped.members("K:A") == plain.members("K:A") == ids[1:]


def test_first_load_into_an_empty_index_decides_like_the_per_row_path(
    services, tmp_path, monkeypatch
):
    """The nightly first load: nothing stored, so the bulk path answers every look-up from
    what the run itself created (``ChunkView.empty``) while the previous chunk is written.
    With a small prepared-record cache the view lets go of patients' prepared records as
    chunks end and prepares them again when needed; with a small view limit the whole view
    is dropped now and then and the run reads from the database again. A first load is
    bounded by its own limit (``FIRST_LOAD_VIEW_PATIENTS``): the limit of a run over a
    stored index (``VIEW_PATIENTS``) does not let its view go."""
    import mpi.gp_feed_bulk as bulk_module
    from mpi.feed_view import PreparedCache

    path = _write(tmp_path / "gp.csv", HARD_ROWS, synthetic=300)
    per_row = _import(services, path, bulk=False)
    expected = snapshot(services)
    assert per_row.counts["linked"] >= 5 and per_row.counts["queued"] >= 3
    starts: list[int] = []  # the view's size each time it was dropped
    real_start_over = bulk_module._Run._start_over

    def counted(run):
        starts.append(len(run.view.patients))
        real_start_over(run)

    monkeypatch.setattr(bulk_module._Run, "_start_over", counted)
    cases = (
        (None, None, None, None),
        (7, None, None, None),
        (40, None, None, None),
        (7, 50, None, None),
        (7, None, 60, None),  # a first load keeps its view past a stored index's limit
        (7, None, 60, 60),
    )
    for chunk_size, cache_size, view_patients, first_load_patients in cases:
        _wipe(services)
        if cache_size is not None:
            small = functools.partial(PreparedCache, cache_size)
            monkeypatch.setattr(bulk_module, "PreparedCache", small)
        if view_patients is not None:
            monkeypatch.setattr(bulk_module, "PreparedCache", PreparedCache)
            monkeypatch.setattr(bulk_module, "VIEW_PATIENTS", view_patients)
        if first_load_patients is not None:
            monkeypatch.setattr(bulk_module, "FIRST_LOAD_VIEW_PATIENTS", first_load_patients)
        starts.clear()
        frozen = gc.get_freeze_count()
        bulk = _import(services, path, chunk_size=chunk_size)
        got = snapshot(services)
        assert bulk.counts == per_row.counts
        assert bool(starts) == (first_load_patients is not None)
        if not frozen:  # the run froze its view between chunks and handed it back
            assert gc.get_freeze_count() == 0
        for part in expected:
            assert got[part] == expected[part], f"{part} differ (chunk size {chunk_size})"
    rerun = _import(services, path, chunk_size=7)
    rows = per_row.counts["rows"]
    assert rerun.counts == {"rows": rows, "unchanged": rows, "errors": per_row.counts["errors"]}
    assert {k: v for k, v in snapshot(services).items() if k != "runs"} == {
        k: v for k, v in got.items() if k != "runs"
    }


def test_a_failed_chunk_write_leaves_no_half_chunk_and_a_rerun_finishes_the_file(
    services, tmp_path, monkeypatch
):
    """A chunk commits whole or not at all: the write that fails half-way (patients in, the
    rest not) leaves nothing of its chunk, the run stops, and the file's re-run decides the
    remaining rows as one uninterrupted run would have."""
    import pytest

    import mpi.feed_write as feed_write

    path = _write(tmp_path / "gp.csv", HARD_ROWS[2:], synthetic=120)
    _import(services, path, bulk=False)
    expected = snapshot(services)
    _wipe(services)

    real = feed_write.write_chunk
    calls = []

    def failing(conn, writes):
        calls.append(len(writes.new_patients))
        if len(calls) == 3:
            feed_write.insert_rows(conn, Patient.__table__, writes.new_patients)
            raise RuntimeError("disk full")
        real(conn, writes)

    monkeypatch.setattr(feed_write, "write_chunk", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(services, path, chunk_size=20)
    half = snapshot(services)
    with services.read_session() as s:
        patients = s.scalar(select(func.count()).select_from(Patient))
        linked = s.scalar(
            select(func.count(func.distinct(PatientIdentifier.patient_id))).where(
                PatientIdentifier.authority.like("GP:%")
            )
        )
    # The first two chunks' patients, each with its practice id; none of the third's.
    assert patients == sum(calls[:2]) and linked == patients
    assert 0 < len(half["links"]) < len(expected["links"])

    monkeypatch.setattr(feed_write, "write_chunk", real)
    _import(services, path, chunk_size=20)
    got = snapshot(services)
    for part in expected:
        if part != "runs":
            assert got[part] == expected[part], f"{part} differ after the re-run"


def test_a_record_added_by_someone_else_between_chunks_is_seen(services, tmp_path, monkeypatch):
    """The view carries what the run read and wrote from chunk to chunk; another writer's
    change between two chunks makes the run drop it and decide the next chunk from the
    database (here: an ADT registration the feed must link its row to, not duplicate)."""
    import mpi.feed_write as feed_write

    quinton = dict(
        family_name="QUINTON",
        given_names="Zed",
        date_of_birth=date(1970, 1, 2),
        sex="M",
        address="3 Mill Lane",
        postcode="M1 1AA",
    )
    row = _row(
        "P84009",
        "Q1",
        family_name="Quinton",
        given_names="Zed",
        date_of_birth="1970-01-02",
        sex="M",
        address_line_1="3 Mill Lane",
        postcode="M1 1AA",
    )
    path = tmp_path / "gp.csv"
    _write(path, [], synthetic=60)
    with path.open("a", newline="", encoding="utf-8") as fh:
        csv.DictWriter(fh, fieldnames=HEADER).writerow({k: row.get(k, "") for k in HEADER})

    real = feed_write.ChunkWriter._write
    calls = []

    def registering(self, writes, changed):
        calls.append(1)
        if len(calls) == 2:  # between the first chunk's commit and the second's write
            with services.uow_factory() as uow:
                resolve_identity(uow.session, _hospital("H9", None, **quinton))
                uow.commit()
        return real(self, writes, changed)

    monkeypatch.setattr(feed_write.ChunkWriter, "_write", registering)
    _import(services, path, chunk_size=20)
    with services.read_session() as s:
        owners = {
            i.authority: i.patient_id
            for i in s.scalars(
                select(PatientIdentifier).where(PatientIdentifier.value.in_(["H9", "Q1"]))
            )
        }
    assert owners["GP:P84009"] == owners["WGH"]
