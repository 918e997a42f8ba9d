"""The bulk path of the nightly GP feed: the per-row rules, a chunk of rows at a time.

Each row is decided exactly as ``mpi.resolve.resolve_identity`` (with the GP list's
authoritative fields) and ``mpi.gp_feed._apply`` decide it, in file order, so a row sees every
earlier row's links, new patients, keys and queue entries. What changes is where the answers
come from: ``mpi.feed_view.ChunkView`` reads what a chunk needs with a few ``IN`` queries and
keeps what the run read and changed in memory from chunk to chunk, and each chunk is written
(``COPY`` / ``executemany``, one transaction) by ``mpi.feed_write.ChunkWriter`` while the next
one is decided. The same rules, restated here for sets of rows, are pinned to the per-row path by
``tests/integration/test_gp_feed_bulk.py`` (same links, queue entries and patients on a file of
hard cases, on SQLite and PostgreSQL).

A rule changed in ``mpi/resolve.py`` must be changed here too; that test fails until it is.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from mpi.feed_events import FeedAnnouncements, announced_fields
from mpi.feed_indexes import UNREAD, VIEW_READ, DeferredIndexes
from mpi.feed_view import ChunkView, PatientState, PreparedCache, same_but_id
from mpi.feed_write import ChunkWriter, signature
from mpi.matching.blocking import blocking_keys
from mpi.matching.bound import ScoreBound
from mpi.matching.decide import MatchDecision, best_matches, score_pair
from mpi.matching.prepared import PreparedRecord, prepare
from mpi.models import NHS_AUTHORITY
from mpi.records import is_placeholder_name, looks_like_placeholder_dob
from mpi.resolve import (
    MatchConfig,
    _incoming_record,
    _valid_nhs,
    _with_ids,
    record_contradicts,
    take_demographics,
)
from mpi.review import OPEN_STATES, pair_values, raised_values

if TYPE_CHECKING:
    from config.bootstrap import Services
    from mpi.gp_feed import FeedRow

SOURCE = "gp_feed"
CHUNK = 5000
# The run's view keeps about 3 KB for every patient it met (state, identifiers, blocks); past
# this many it is dropped and begun again from the database, which holds ~1.4 GB at most
# (a 1.4 million-row first load would otherwise need ~4.6 GB against the 4 GB budget).
VIEW_PATIENTS = 300_000
# A first load (the run began on an empty index) keeps its view much longer: letting it go
# meant reading blocks, NHS numbers and identifiers back from tables of millions of rows and
# building the deferred indexes mid-run, three quarters of a 1.4 million-row load. Its view is
# made small for it (``ChunkView.first_load``): a 1.4 million-row first load (1 million
# patients) peaked at 2.7 GB RSS, about 2.5 KB a patient, so 1.5 million patients would reach
# some 3.8 GB; past that the view is let go as above, for the 4 GB budget.
FIRST_LOAD_VIEW_PATIENTS = 1_500_000


@dataclass(slots=True)
class _Row:
    """A feed row with what every tier needs computed once."""

    feed: FeedRow
    nhs: str | None
    placeholder: bool
    wanted: list[tuple[str, str, str, bool]]  # identifiers: authority, value, type, valid
    incoming: PreparedRecord | None = None
    keys: set[str] = field(default_factory=set)


def import_chunks(
    services: Services,
    rows: Iterator[FeedRow],
    applied: dict[str, str],
    counts: Counter[str],
    config: MatchConfig,
    progress: Callable[[int], None] | None = None,
    chunk_size: int | None = None,
) -> None:
    """Apply ``rows`` a chunk at a time; each chunk commits on its own (a crash loses at most
    the chunks in hand, and a re-run skips what was committed by its digests).

    One ``ChunkView`` serves the whole run: what a chunk read or changed is kept for the next
    ones. Chunk *n* is written (``mpi.feed_write.ChunkWriter``) while chunk *n + 1* is decided;
    its writes are folded into the view first, so the decisions never wait for them. If
    another writer changed the index between two chunks, the view is dropped and the chunk in
    hand decided again from what the database then holds.

    The patients a chunk changed are announced (``mpi.feed_events``) in the chunk's own
    transaction (the outbound A08s commit with it) and published on the bus after it commits,
    so events are only ever held for one chunk.

    A first load on SQLite builds some secondary indexes after its rows rather than row by
    row (``mpi.feed_indexes``): they are back when this returns or raises (a run killed
    mid-load left them out: ``mpi.gp_feed.import_file`` builds them before any run).

    The view is kept out of the garbage collector's sight while the run lasts (``_HeapWatch``)."""
    heap = _HeapWatch()
    run = _Run(services, config, counts)
    try:
        while True:
            batch = list(islice(rows, chunk_size or CHUNK))
            if not batch:
                break
            todo = []
            for feed in batch:
                if applied.get(feed.key) == feed.digest:
                    counts["rows"] += 1
                    counts["unchanged"] += 1
                else:
                    todo.append(feed)
            if todo:
                run.chunk(todo)
                heap.chunk_done()
            if progress is not None:
                progress(len(batch))
        run.finish()
    finally:
        run.writer.close()
        run.indexes.restore()
        run.view = None
        heap.run_done()


class _HeapWatch:
    """Everything alive as a chunk ends is frozen (``gc.freeze``), out of the collector's
    sight, until the run ends.

    A full collection scans every tracked object, and the run's view is most of them (a
    patient, its prepared record and plain record are three; a first load holds a million
    patients). The chunks' own garbage makes full collections frequent: on a 100k-row first
    load, 18.7 s of the deciding thread's time went to the collector (``gc.callbacks``), 7.6 s
    with the view frozen. Frozen objects are still freed when their last reference goes; only
    a reference cycle among them waits for ``run_done``, which hands everything back and, in a
    process that had frozen its start-up heap (``config.processes.settle_heap``), collects
    once and freezes what is left, as that did."""

    def __init__(self) -> None:
        self.frozen_before = gc.get_freeze_count()

    def chunk_done(self) -> None:
        gc.freeze()

    def run_done(self) -> None:
        gc.unfreeze()
        if self.frozen_before:
            gc.collect()
            gc.freeze()


class _Run:
    """Decides chunks against one view and hands each to the writer once the previous one is
    in; a chunk the writer refused (``ChunkWriter.stale``) is decided again, then the ones
    after it, from a fresh view."""

    def __init__(self, services: Services, config: MatchConfig, counts: Counter[str]) -> None:
        self.services = services
        self.config = config
        self.counts = counts
        self.authoritative = frozenset({"address", "postcode", "gp_practice_code"})
        self.cache = PreparedCache()
        self.bound = ScoreBound.for_model(config.model)
        with services.engine.connect() as conn:
            self.empty = _empty_tables(conn)
        # Before the writer's signature: dropping indexes changes no table's rows.
        self.indexes = DeferredIndexes.for_run(services.engine, self.empty == _INDEX_TABLES)
        try:
            with services.engine.connect() as conn:
                self.writer = ChunkWriter(services, signature(conn))
        except BaseException:
            self.indexes.restore()
            raise
        self.view: ChunkView | None = None
        self.inflight: tuple[list[FeedRow], Counter[str]] = ([], Counter())

    def chunk(self, feeds: list[FeedRow]) -> None:
        if self.view is not None and len(self.view.patients) >= self._view_limit(self.view):
            self._start_over()
        with self.services.engine.connect() as conn:
            if self.view is None:
                self.view = self._new_view(conn, self.empty)
            self.view.begin(conn)
            before = self.counts.copy()
            decided = self._decide(feeds)
            self.writer.wait()  # the previous chunk is in (or its error raised here)
            if self.writer.stale:
                self._redo_inflight(conn)
                self.counts.clear()
                self.counts.update(before)
                decided = self._decide(feeds)
            writes = self.view.take_writes()
        self.writer.submit(writes, decided.changed)
        self.inflight = (feeds, before)

    @staticmethod
    def _view_limit(view: ChunkView) -> int:
        """How many patients a view may hold before it is let go: a first load's view (one
        that knows the index's tables held nothing) stands in for them to the end."""
        return FIRST_LOAD_VIEW_PATIENTS if view.empty else VIEW_PATIENTS

    def finish(self) -> None:
        self.writer.wait()
        if self.writer.stale:
            with self.services.engine.connect() as conn:
                self._redo_inflight(conn)
        self.indexes.restore(UNREAD)

    def _start_over(self) -> None:
        """Memory: once the chunk in flight is in, let the view go; the next chunks read what
        they need from the database, as a run over a full index does (nothing is empty now)."""
        self.writer.wait()
        if self.writer.stale:
            with self.services.engine.connect() as conn:
                self._redo_inflight(conn)
        self.empty = frozenset()
        self.view = None

    def _redo_inflight(self, conn: Any) -> None:
        """Someone else wrote before the chunk in flight: it was not written. Decide it again
        from the database (no carried state, no empty tables assumed) and write it."""
        feeds, before = self.inflight
        while self.writer.stale:
            self.writer.stale = False
            self.view = self._new_view(conn, frozenset())
            self.counts.clear()
            self.counts.update(before)
            decided = self._decide(feeds)
            self.writer.submit(self.view.take_writes(), decided.changed)
            self.writer.wait()

    def _new_view(self, conn: Any, empty: frozenset[str]) -> ChunkView:
        if not empty and self.indexes.restore(VIEW_READ) and conn.in_transaction():
            conn.rollback()  # reads only: the next one sees the indexes just built
        view = ChunkView(conn, SOURCE, self.cache, block_cap=self.config.max_block + 1, empty=empty)
        view.settle = self.writer.wait
        return view

    def _decide(self, feeds: list[FeedRow]) -> _Chunk:
        assert self.view is not None
        rows = [_prepare_row(feed) for feed in feeds]
        chunk = _Chunk(self.view, self.config, self.authoritative, self.bound)
        chunk.read_ahead(rows)
        for row in rows:
            chunk.apply(row, self.counts)
        return chunk


_INDEX_TABLES = frozenset({"patient", "patient_identifier", "mpi_blocking_key"})


def _empty_tables(conn: Any) -> frozenset[str]:
    """The index's tables holding no rows at all (a first load): nothing to look up there."""
    return frozenset(
        name
        for name in sorted(_INDEX_TABLES)
        if conn.execute(text(f"SELECT NOT EXISTS (SELECT 1 FROM {name})")).scalar_one()
    )


def _prepare_row(feed: FeedRow) -> _Row:
    d = feed.details
    nhs = _valid_nhs(d.nhs_number)
    wanted = [(i.authority, i.value, i.id_type, True) for i in d.identifiers]
    if d.nhs_number:
        wanted.append((NHS_AUTHORITY, nhs or d.nhs_number.strip()[:40], "NH", nhs is not None))
    return _Row(feed, nhs, is_placeholder_name(d.family_name, d.given_names), wanted)


class _Chunk:
    def __init__(
        self,
        view: ChunkView,
        config: MatchConfig,
        authoritative: frozenset[str],
        bound: ScoreBound | None = None,
    ):
        self.view = view
        self.config = config
        self.bound = bound or ScoreBound.for_model(config.model)
        self.authoritative = authoritative
        self.changed = FeedAnnouncements()

    def read_ahead(self, rows: list[_Row]) -> None:
        """One set query per kind of fact the rows will ask for (the view loads any miss)."""
        view = self.view
        view.load_identifiers((a, v) for r in rows for a, v, _, _ in r.wanted)
        view.load_nhs(r.nhs for r in rows if r.nhs)
        known: set[int] = set()
        for r in rows:
            for authority, value, _, _ in r.wanted:
                held = view.idents.get((authority, value))
                if held is not None:
                    known.add(held.patient_id)
            if r.nhs:
                known.update(view.nhs.get(r.nhs, ()))
        view.load_patients(known)
        searching = []
        for r in rows:
            if r.placeholder or self._exact_in_store(r):
                continue
            d = r.feed.details
            r.incoming = prepare(_incoming_record(d, r.nhs, r.placeholder))
            r.keys = blocking_keys(r.incoming)
            searching.append(r)
        if "mpi_blocking_key" in view.empty:
            return  # every block member is a patient this run created: all in the view
        view.load_blocks(k for r in searching for k in r.keys)
        wanted: set[int] = set()
        for r in searching:
            hits = view.hits(r.keys, self.config.max_block)
            wanted.update(pid for pid, _ in hits.most_common(self.config.max_candidates))
        view.load_patients(wanted)

    def _exact_in_store(self, r: _Row) -> bool:
        for authority, value, _, _ in r.wanted[:1]:
            held = self.view.idents.get((authority, value))
            if held is not None and held.link_state == "linked":
                return True
        return bool(r.nhs and self.view.nhs.get(r.nhs))

    # -- one row: resolve_identity + gp_feed._apply ------------------------------------------

    def apply(self, r: _Row, counts: Counter[str]) -> None:
        view = self.view
        d = r.feed.details
        counts["rows"] += 1
        patient, tier = self._find_exact(r)
        disputed = False
        if (
            tier == "nhs_number"
            and patient is not None
            and not r.placeholder
            and self._nhs_contradicted(patient, r)
        ):
            patient, tier, disputed = None, "new", True
        created = False
        score: float | None = None
        queued: list[int] = []
        if patient is None:
            decisions = [] if r.placeholder else self._search(r, disputed)
            top = decisions[0] if decisions else None
            if top is not None and top.zone == "auto_link":
                patient = view.patient(int(top.record_id_b))
                tier, score = "probabilistic", top.score
            else:
                patient = view.new_patient(
                    placeholder=r.placeholder,
                    dob_placeholder=looks_like_placeholder_dob(d.date_of_birth, r.placeholder),
                )
                created, tier = True, "new"
                view.audit("add", patient.id, origin=None)
                for decision in decisions:
                    if decision.zone == "review":
                        other = int(decision.record_id_b)
                        self._queue_pair(patient.id, other, _with_ids(decision, patient.id), SOURCE)
                        queued.append(other)
        # A disputed NHS number stays with the record that holds it; attaching it below queues
        # the two records for the clerks instead.
        changed = self._apply_demographics(patient, r, None if disputed else r.nhs)
        self._attach_identifiers(patient, r, tier, score)
        if created or changed:
            self._refresh_keys(patient, r if created else None)
            if changed and not created:
                view.audit("update", patient.id, fields=list(changed))
        self.changed.note(patient.id, announced_fields(created, tier, changed))
        added = self._previous_postcodes(patient, r.feed.previous_postcodes)
        gp = d.identifiers[0]
        held = view.identifier(gp.authority, gp.value)
        if held is not None and held.patient_id == patient.id:
            view.set_source_hash(gp.authority, gp.value, held, r.feed.digest)
        if created:
            counts["created"] += 1
        elif tier in ("nhs_number", "probabilistic"):
            counts["linked"] += 1
        elif changed or added:
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
        if queued:
            counts["queued"] += len(queued)

    def _survivor(self, patient: PatientState) -> PatientState:
        seen: set[int] = set()
        while patient.merged_into_id is not None and patient.id not in seen:
            seen.add(patient.id)
            patient = self.view.patient(patient.merged_into_id)
        return patient

    def _find_exact(self, r: _Row) -> tuple[PatientState | None, str]:
        for ident in r.feed.details.identifiers:
            held = self.view.identifier(ident.authority, ident.value)
            if held is not None and held.link_state == "linked":
                return self._survivor(self.view.patient(held.patient_id)), "identifier"
        if r.nhs:
            holder = self.view.nhs_holder(r.nhs)
            if holder is not None:
                return self.view.patient(holder), "nhs_number"
        return None, "new"

    def _nhs_contradicted(self, patient: PatientState, r: _Row) -> bool:
        """``mpi.resolve.nhs_number_contradicted`` on the view's record of the holder."""
        if patient.placeholder or patient.dob_placeholder:
            return False
        held = self.view.live_records([patient.id])
        incoming = _incoming_record(r.feed.details, None, False)
        return record_contradicts(held[0] if held else None, incoming)

    def _search(self, r: _Row, disputed: bool = False) -> list[MatchDecision]:
        if disputed:  # searched without the number it shares with someone else
            r.incoming = prepare(_incoming_record(r.feed.details, None, r.placeholder))
            r.keys = blocking_keys(r.incoming)
        elif r.incoming is None:
            r.incoming = prepare(_incoming_record(r.feed.details, r.nhs, r.placeholder))
            r.keys = blocking_keys(r.incoming)
        hits = self.view.hits(r.keys, self.config.max_block)
        if not hits:
            return []
        ids = [pid for pid, _ in hits.most_common(self.config.max_candidates)]
        config = self.config
        # Only candidates that can reach the review zone can be in the result (best_matches
        # drops the new-person zone), so the rest are not scored: same decisions, less work.
        candidates = self.bound.within_reach(
            r.incoming, self.view.live_records(ids), config.thresholds.review
        )
        return best_matches(
            r.incoming, candidates, config.model, config.thresholds, limit=config.limit
        )

    def _apply_demographics(
        self, patient: PatientState, r: _Row, nhs: str | None
    ) -> tuple[str, ...]:
        old_name = (patient.family_name, patient.given_names)
        old_address = (patient.address, patient.postcode)
        changed = take_demographics(patient, r.feed.details, nhs, r.placeholder, self.authoritative)
        if changed:
            patient.touched()
            self.view.mark_dirty(patient)
            if "nhs_number" in changed:
                self.view.noted_nhs(patient)
        if old_name[0] and old_name != (patient.family_name, patient.given_names):
            self.view.add_name(patient, old_name[0], old_name[1], SOURCE)
        if old_address[1] and old_address != (patient.address, patient.postcode):
            self.view.add_address(patient, old_address[0], old_address[1], SOURCE)
        return changed

    def _attach_identifiers(
        self, patient: PatientState, r: _Row, tier: str, score: float | None
    ) -> None:
        view = self.view
        link_source = "probabilistic" if tier == "probabilistic" else "exact"
        for authority, value, id_type, valid in r.wanted:
            held = view.identifier(authority, value)
            if held is not None:
                if held.patient_id != patient.id:
                    self._queue_conflict(patient, held.patient_id)
                continue
            view.add_identifier(
                patient,
                {
                    "authority": authority,
                    "value": value,
                    "id_type": id_type,
                    "valid": valid,
                    "link_source": link_source,
                    "link_score": score,
                },
            )
            view.audit(
                "link",
                patient.id,
                authority=authority,
                value=value,
                link_source=link_source,
                score=score,
                valid=valid,
            )

    def _queue_conflict(self, patient: PatientState, owner_id: int) -> None:
        owner = self._survivor(self.view.patient(owner_id))
        if owner.id == patient.id:
            return
        records = {
            int(rec.record_id): rec for rec in self.view.live_records([patient.id, owner.id])
        }
        if len(records) < 2:
            return
        decision = score_pair(records[patient.id], records[owner.id]).as_dict()
        self._queue_pair(patient.id, owner.id, decision, f"{SOURCE}:identifier")

    def _queue_pair(self, a: int, b: int, decision: dict[str, Any], found_by: str) -> None:
        low, high = sorted((a, b))
        existing = self.view.pair(low, high)
        if existing is not None:
            if existing.state in OPEN_STATES and decision["score"] > existing.score:
                self.view.raise_pair(low, high, existing, raised_values(decision, low, False))
            return
        self.view.queue(low, high, pair_values(a, b, decision, found_by=found_by, live=False))

    def _refresh_keys(self, patient: PatientState, row: _Row | None = None) -> None:
        """``row``: the row that created the patient; its record and keys are the patient's
        when the fields agree (the usual case), so they are not worked out again."""
        if patient.merged_into_id is not None:
            self.view.set_keys(patient, set())
            return
        like = row.incoming if row is not None else None
        record = self.view.record(patient, like)
        if row is not None and like is not None and same_but_id(like.record, record.record):
            keys = set(row.keys)
        else:
            keys = blocking_keys(record)
        if patient.placeholder:
            keys = {k for k in keys if k.startswith("N:")}
        self.view.set_keys(patient, keys)

    def _previous_postcodes(self, patient: PatientState, postcodes: tuple[str, ...]) -> bool:
        if not postcodes:
            return False
        known = {*patient.postcodes, patient.postcode}
        new = [pc for pc in dict.fromkeys(postcodes) if pc not in known]
        for pc in new:
            self.view.add_address(patient, None, pc, "gp")
        if new:
            self._refresh_keys(patient)
        return bool(new)
