"""The index as the bulk GP feed's run sees it: read in a few set queries per chunk, changed in
memory, handed to ``mpi.feed_write`` as rows at the end of each chunk and kept for the next.

The per-row path asks the database a dozen questions a row (and the ORM flushes between them),
so a 1.4 million-row list costs tens of millions of round trips. Here a chunk's identifiers,
NHS numbers, patients, their history and stored blocking keys, and the blocking-key blocks its
new rows will search are read with one ``IN`` query each; every change the chunk makes is
applied to this in-memory view first, so row *n* sees rows 1..n-1 exactly as it would through
the ORM's autoflush. Anything not read ahead is loaded on first use (the view never guesses),
so the rule is simple: an entity in the view is current, an entity not in it is current in the
database (as of before the run's first write, for the tables named ``empty``: then it is not
there at all). Only this run writes what the view holds while it runs: another writer's change
is noticed between chunks (``mpi.feed_write.ChunkWriter``) and the view is then dropped.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date
from operator import attrgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    any_,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from config.db import utcnow
from mpi.feed_write import ChunkWrites, write_chunk
from mpi.history import BlockingKey, PatientAddress, PatientName
from mpi.matching.prepared import PreparedRecord, prepare, with_record
from mpi.matching.record import PersonRecord
from mpi.merge import MERGE_FIELDS
from mpi.models import Patient, PatientIdentifier
from mpi.records import record_of
from mpi.review import ReviewPair

# The values of a (prepared) record the view shares between patients (``_share_prepared``):
# every field but the record itself and its id, when a string, a date or a tuple or set of
# strings (hashable, immutable, and repeated across a population).
_SHAREABLE = frozenset({str, tuple, frozenset, date})
_RECORD_VALUES = tuple(f.name for f in fields(PersonRecord) if f.name != "record_id")
_PREPARED_VALUES = tuple(f.name for f in fields(PreparedRecord) if f.name != "record")

IN_BATCH = 2000  # parameters per IN list: well inside SQLite's and PostgreSQL's limits
ID_BATCH = 256  # patient ids taken from the PostgreSQL sequence at a time

_P = Patient.__table__.c  # type: ignore[attr-defined]
_I = PatientIdentifier.__table__.c  # type: ignore[attr-defined]
_K = BlockingKey.__table__.c  # type: ignore[attr-defined]
_N = PatientName.__table__.c  # type: ignore[attr-defined]
_A = PatientAddress.__table__.c  # type: ignore[attr-defined]
_R = ReviewPair.__table__.c  # type: ignore[attr-defined]

_CAPPED_BLOCKS = text(
    "SELECT k.key, b.patient_id FROM unnest(CAST(:keys AS varchar[])) AS k(key) "
    "CROSS JOIN LATERAL (SELECT patient_id FROM mpi_blocking_key WHERE key = k.key "
    "ORDER BY patient_id LIMIT :n) AS b ORDER BY k.key, b.patient_id"
)

_IDENTIFIERS = text(
    "SELECT i.id, i.authority, i.value, i.patient_id, i.link_state, i.source_hash "
    "FROM unnest(CAST(:authorities AS varchar[]), CAST(:vals AS varchar[])) AS w(a, v) "
    "JOIN patient_identifier AS i ON i.authority = w.a AND i.value = w.v"
)

# The patient columns a feed row can change (all written back for a changed patient): the
# identity columns a merge chooses between and an unmerge restores.
MUTABLE = MERGE_FIELDS


@dataclass(slots=True, eq=False)
class PatientState:
    """A patient as the chunk sees it, with the history and keys matching needs.

    Attribute names are those of ``Patient`` so ``mpi.records.record_of`` reads either.
    """

    id: int
    nhs_number: str | None
    family_name: str
    given_names: str
    title: str | None
    date_of_birth: date | None
    sex: str | None
    address: str | None
    postcode: str | None
    gp_practice_code: str | None
    merged_into_id: int | None
    placeholder: bool
    dob_placeholder: bool
    new: bool = False
    # History as tuples (the empty one is shared; a list costs 56 bytes even when empty, and
    # a first load holds a million patients).
    names: tuple[str, ...] = ()  # previous family names (history rows)
    postcodes: tuple[str | None, ...] = ()  # address-history postcodes
    # Blocking keys once this chunk has re-computed them (None: as stored, not yet touched).
    keys: set[str] | None = None
    # The keys the database holds (or will, once the chunks written so far commit) when the
    # run has known them: the run's new patients and the patients it re-keyed.
    stored: tuple[str, ...] | None = None
    dirty: bool = False
    prepared: PreparedRecord | None = None

    def record(
        self, cache: PreparedCache | None = None, like: PreparedRecord | None = None
    ) -> PreparedRecord:
        """The matching record (as ``records_for`` builds it), prepared once per change.

        ``like``: a prepared record that may hold the same fields under another id (the row
        that created this patient); reused if it does, as preparing it again would give the
        same values."""
        if self.prepared is None:
            postcodes = [pc for pc in self.postcodes if pc]
            plain = record_of(self, self.names, postcodes)  # type: ignore[arg-type]
            if like is not None and same_but_id(like.record, plain):
                self.prepared = with_record(like, plain)
            else:
                self.prepared = cache.prepared(plain) if cache is not None else prepare(plain)
        return self.prepared

    def touched(self) -> None:
        self.prepared = None


def same_but_id(a: PersonRecord, b: PersonRecord) -> bool:
    """Whether two records differ in nothing but their ids (so prepare alike)."""
    return _BUT_ID(a) == _BUT_ID(b)


_BUT_ID = attrgetter(*(f.name for f in fields(PersonRecord) if f.name != "record_id"))


class PreparedCache:
    """Prepared records kept from chunk to chunk, keyed by the whole record (id and every
    field), so a stored patient found again by a later chunk is not normalised again; a
    changed patient has a different record and misses. Bounded: cleared when full."""

    def __init__(self, size: int = 200_000) -> None:
        self.size = size
        self._prepared: dict[PersonRecord, PreparedRecord] = {}

    def prepared(self, record: PersonRecord) -> PreparedRecord:
        found = self._prepared.get(record)
        if found is None:
            if len(self._prepared) >= self.size:
                self._prepared.clear()
            found = self._prepared[record] = prepare(record)
        return found

    def keep(self, prepared: PreparedRecord) -> None:
        """Hold a record prepared elsewhere (a patient's, as a chunk ends)."""
        if len(self._prepared) >= self.size:
            self._prepared.clear()
        self._prepared[prepared.record] = prepared


@dataclass(slots=True)
class IdentState:
    """One ``patient_identifier`` row (``id`` None until the chunk writes it)."""

    id: int | None
    patient_id: int
    link_state: str
    source_hash: str | None
    row: dict[str, Any] | None = None  # the insert values of an identifier new in this chunk


# The digest of an identifier the run wrote and no longer holds in memory (see ``Identifiers``):
# equal to no digest, so setting one again writes it.
FORGOTTEN = ""


class Identifiers:
    """``(authority, value) -> IdentState | None`` (None: known not to be stored), kept small.

    A first load holds every identifier of the file (2 million and more), so: one dict per
    authority (no key tuple, one authority string for all its values), and an identifier the
    run created and has written is held as its patient's id alone (it is ``linked``, its row
    id was never read back, and its digest is not kept: the file names each practice id once,
    so no later row asks for it; if one did, the digest would be written again). ``get``
    gives such an entry back as an ``IdentState``; ``ChunkView.set_source_hash`` stores the
    one it changes."""

    __slots__ = ("_by",)

    def __init__(self) -> None:
        self._by: dict[str, dict[str, IdentState | int | None]] = {}

    def __contains__(self, pair: tuple[str, str]) -> bool:
        values = self._by.get(pair[0])
        return values is not None and pair[1] in values

    def get(self, pair: tuple[str, str], default: None = None) -> IdentState | None:
        values = self._by.get(pair[0])
        if values is None:
            return default
        held = values.get(pair[1], default)
        if type(held) is int:
            return IdentState(None, held, "linked", FORGOTTEN)
        return held  # type: ignore[return-value]

    def __getitem__(self, pair: tuple[str, str]) -> IdentState | None:
        if pair not in self:
            raise KeyError(pair)
        return self.get(pair)

    def __setitem__(self, pair: tuple[str, str], state: IdentState | None) -> None:
        values = self._by.get(pair[0])
        if values is None:
            values = self._by[pair[0]] = {}
        values[pair[1]] = state

    def written(self, pair: tuple[str, str], state: IdentState) -> None:
        """The run's own identifier is in the database now: keep its patient id only."""
        if state.id is None and state.link_state == "linked":
            self._by[pair[0]][pair[1]] = state.patient_id

    def __len__(self) -> int:
        return sum(len(values) for values in self._by.values())


def _members(held: int | tuple[int, ...]) -> tuple[int, ...]:
    """A block's stored members: a block of one is held as the patient id alone."""
    return (held,) if type(held) is int else held  # type: ignore[return-value]


def _packed(members: Sequence[int]) -> int | tuple[int, ...]:
    return members[0] if len(members) == 1 else tuple(members)


@dataclass(slots=True)
class PairState:
    id: int | None
    state: str
    score: float
    row: dict[str, Any] | None = None


def batches(values: Iterable[Any], size: int = IN_BATCH) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class PatientIds:
    """New patient ids in creation order, as the per-row path's inserts would number them.

    PostgreSQL: taken from the table's sequence a batch at a time (safe beside other writers;
    an unused tail leaves a gap, as a rolled-back insert does). SQLite: max(id)+1 onwards,
    read when the view is made; a patient another writer adds meanwhile makes the next chunk's
    insert fail on the id (the chunk is not written, the run stops; a re-run carries on).
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn  # PostgreSQL: any connection of the run (sequences are not rolled back)
        self._pg = conn.dialect.name == "postgresql"
        self._free: list[int] = []
        self._next = 0
        if not self._pg:
            self._next = int(conn.execute(select(func.coalesce(func.max(_P.id), 0))).scalar_one())

    def take(self) -> int:
        if not self._pg:
            self._next += 1
            return self._next
        if not self._free:
            rows = self.conn.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence('patient', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": ID_BATCH},
            )
            self._free = sorted((int(r[0]) for r in rows), reverse=True)
        return self._free.pop()


class ChunkView:
    """Read-ahead caches, lazy loads and pending writes, kept from chunk to chunk of a run.

    What a chunk read or changed stays for the next chunks (``take_writes`` hands the chunk's
    changes over as rows and folds them into the view), so a record the run created or read is
    never read or prepared again: in a first load nearly every candidate is one the run
    created. ``empty`` names the tables that held no rows when the run started: a look-up the
    view cannot answer from memory is then known to find nothing, without a query.
    """

    def __init__(
        self,
        conn: Connection,
        actor: str,
        cache: PreparedCache | None = None,
        block_cap: int | None = None,
        *,
        empty: frozenset[str] = frozenset(),
    ) -> None:
        self.conn = conn
        self.actor = actor
        self.cache = cache or PreparedCache()
        self.ids = PatientIds(conn)
        self.empty = empty
        # Called before a read that must see every chunk written so far (the runner waits for
        # the chunk being written; see ``mpi.feed_write``).
        self.settle: Callable[[], None] = lambda: None
        self.patients: dict[int, PatientState] = {}
        self.idents = Identifiers()
        # Live patients holding a (valid) NHS number: as stored, and as this run set them.
        self.nhs: dict[str, tuple[int, ...]] = {}
        self.nhs_added: dict[str, tuple[int, ...]] = {}
        # key -> members as stored (sorted by patient; a block of one as the id alone)
        self.blocks: dict[str, int | tuple[int, ...]] = {}
        # One object per distinct name, date, postcode, address... of the patients held: a
        # list of 1.4 million people has a few tens of thousands of each.
        self._values: dict[Any, Any] = {}
        # Blocks are read up to ``block_cap`` members (``max_block + 1``, the lowest ids): a
        # key holding that many is over-full and skipped by every search, so the rest of it is
        # never read. While every member read still holds the key, the block still has at
        # least the cap; once this chunk takes the key off one of them (``lost``) the block
        # could drop back under it, and is read again in full.
        self.block_cap = block_cap
        self.full: set[str] = set()
        self.lost: set[str] = set()
        self.in_full: dict[int, list[str]] = defaultdict(list)  # member read -> full keys
        # Patients whose keys this chunk re-computed, by key: their stored keys no longer count.
        self.block_added: dict[str, set[int]] = defaultdict(set)
        self.rekeyed: set[int] = set()
        # Blocks whose stored members include a patient re-keyed in this chunk (known from
        # its ``stored`` keys; ``unknown_rekeyed``: one whose stored keys were never read, so
        # any block may hold it). Every other block's stored members are its members.
        self.stale_blocks: set[str] = set()
        self.unknown_rekeyed = False
        self.pairs: dict[tuple[int, int], PairState | None] = {}
        self.new_ids: set[int] = set()  # patients this run created
        # pending writes (this chunk's)
        self.changed: dict[int, PatientState] = {}
        self.recorded: dict[int, PatientState] = {}  # patients whose record this chunk prepared
        self.idents_out: list[IdentState] = []
        self.hash_updates: dict[tuple[str, str], str] = {}
        self.names_out: list[dict[str, Any]] = []
        self.addresses_out: list[dict[str, Any]] = []
        self.events_out: list[dict[str, Any]] = []
        self.pairs_out: list[PairState] = []
        self.pair_updates: dict[tuple[int, int], dict[str, Any]] = {}

    def begin(self, conn: Connection) -> None:
        """The next chunk reads through ``conn`` (a new transaction sees the latest commits)."""
        self.conn = conn
        self.ids.conn = conn

    # -- reads -------------------------------------------------------------------------------

    def _among(self, column: ColumnElement[Any], values: list[Any]) -> ColumnElement[bool]:
        """``column IN (values)``; on PostgreSQL ``= ANY(array)``, one parameter however many
        values (the driver would otherwise re-parse a statement with thousands of them)."""
        if self.conn.dialect.name == "postgresql":
            return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
        return column.in_(values)

    def load_identifiers(self, wanted: Iterable[tuple[str, str]]) -> None:
        todo = [w for w in dict.fromkeys(wanted) if w not in self.idents]
        if not todo:
            return
        for pair in todo:
            self.idents[pair] = None
        if "patient_identifier" in self.empty:
            return  # none stored before the run, and the run's own are all in the view
        if self.conn.dialect.name == "postgresql":
            # One statement for every authority (a GP list names dozens of practices): the
            # (authority, value) pairs as two arrays, joined on the unique index.
            for part in batches(todo):
                rows = self.conn.execute(
                    _IDENTIFIERS,
                    {"authorities": [a for a, _ in part], "vals": [v for _, v in part]},
                )
                for ident_id, authority, value, patient_id, state, digest in rows:
                    self.idents[(authority, value)] = IdentState(
                        ident_id, patient_id, state, digest
                    )
            return
        by_authority: dict[str, list[str]] = defaultdict(list)
        for authority, value in todo:
            by_authority[authority].append(value)
        for authority, values in by_authority.items():
            for part in batches(values):
                rows = self.conn.execute(
                    select(_I.id, _I.value, _I.patient_id, _I.link_state, _I.source_hash)
                    .where(_I.authority == authority)
                    .where(self._among(_I.value, part))
                )
                for ident_id, value, patient_id, state, digest in rows:
                    self.idents[(authority, value)] = IdentState(
                        ident_id, patient_id, state, digest
                    )

    def identifier(self, authority: str, value: str) -> IdentState | None:
        if (authority, value) not in self.idents:
            self.load_identifiers([(authority, value)])
        return self.idents[(authority, value)]

    def load_nhs(self, numbers: Iterable[str]) -> None:
        """The stored holders of these numbers (none at all when the run began on an empty
        index: then nothing is held for them, ``nhs.get`` finding nothing says the same)."""
        if "patient" in self.empty:
            return
        todo = [n for n in dict.fromkeys(numbers) if n not in self.nhs]
        found: dict[str, list[int]] = {number: [] for number in todo}
        for part in batches(todo):
            rows = self.conn.execute(
                select(_P.id, _P.nhs_number)
                .where(self._among(_P.nhs_number, part))
                .where(_P.merged_into_id.is_(None))
            )
            for patient_id, number in rows:
                found[number].append(patient_id)
        for number, holders in found.items():
            self.nhs[number] = tuple(sorted(set(holders)))

    def nhs_holder(self, number: str) -> int | None:
        """The lowest-id live patient with this NHS number (the per-row path's ORDER BY id)."""
        if number not in self.nhs:
            self.load_nhs([number])
        holders = (*self.nhs.get(number, ()), *self.nhs_added.get(number, ()))
        if not holders:
            return None  # most rows of a first load
        patients = self.patients
        live = [
            pid for pid in holders if pid not in patients or patients[pid].merged_into_id is None
        ]
        return min(live) if live else None

    def noted_nhs(self, patient: PatientState) -> None:
        """A patient took an NHS number in this chunk (a new patient, or a blank filled)."""
        if patient.nhs_number:
            held = self.nhs_added.get(patient.nhs_number, ())
            if patient.id not in held:
                self.nhs_added[patient.nhs_number] = (*held, patient.id)

    def load_patients(self, ids: Iterable[int]) -> None:
        """Patients with their history (and stored keys); follows merge redirects."""
        todo = [i for i in dict.fromkeys(ids) if i not in self.patients]
        while todo:
            loaded: list[PatientState] = []
            for part in batches(todo):
                for row in self.conn.execute(
                    select(
                        _P.id,
                        _P.nhs_number,
                        _P.family_name,
                        _P.given_names,
                        _P.title,
                        _P.date_of_birth,
                        _P.sex,
                        _P.address,
                        _P.postcode,
                        _P.gp_practice_code,
                        _P.merged_into_id,
                        _P.placeholder,
                        _P.dob_placeholder,
                    ).where(self._among(_P.id, part))
                ):
                    state = PatientState(*row)
                    self._share(state)
                    self.patients[state.id] = state
                    loaded.append(state)
                for pid, family in self.conn.execute(
                    select(_N.patient_id, _N.family_name)
                    .where(self._among(_N.patient_id, part))
                    .order_by(_N.id)
                ):
                    state = self.patients[pid]
                    state.names = (*state.names, self.shared(family))
                for pid, postcode in self.conn.execute(
                    select(_A.patient_id, _A.postcode)
                    .where(self._among(_A.patient_id, part))
                    .order_by(_A.id)
                ):
                    state = self.patients[pid]
                    state.postcodes = (*state.postcodes, self.shared(postcode))
            todo = [
                p.merged_into_id
                for p in loaded
                if p.merged_into_id is not None and p.merged_into_id not in self.patients
            ]

    def shared(self, value: Any) -> Any:
        """The view's one copy of an equal value (a name, a date, a postcode)."""
        if value is None:
            return None
        return self._values.setdefault(value, value)

    def _share(self, p: PatientState) -> None:
        """The patient's columns as the view's shared copies (a million patients hold a few
        tens of thousands of distinct names, dates, postcodes and addresses)."""
        shared = self.shared
        # The NHS number too: one per person, but the prepared record normalises its own copy.
        p.nhs_number = shared(p.nhs_number)
        p.family_name = shared(p.family_name)
        p.given_names = shared(p.given_names)
        p.title = shared(p.title)
        p.date_of_birth = shared(p.date_of_birth)
        p.sex = shared(p.sex)
        p.address = shared(p.address)
        p.postcode = shared(p.postcode)
        p.gp_practice_code = shared(p.gp_practice_code)

    def _share_prepared(self, prepared: PreparedRecord) -> None:
        """Point a prepared record's values (and its plain record's) at the view's shared
        copies. The records are frozen; each value is replaced by an equal one, so nothing a
        comparison, hash or equality sees changes. Done once per record, as it is prepared:
        a first load holds a million of them, most of their strings repeated."""
        shared = self.shared
        record = prepared.record
        for name in _RECORD_VALUES:
            value = getattr(record, name)
            if type(value) in _SHAREABLE:
                object.__setattr__(record, name, shared(value))
        for name in _PREPARED_VALUES:
            value = getattr(prepared, name)
            if type(value) in _SHAREABLE:
                object.__setattr__(prepared, name, shared(value))

    def patient(self, patient_id: int) -> PatientState:
        if patient_id not in self.patients:
            self.load_patients([patient_id])
        return self.patients[patient_id]

    def load_blocks(self, keys: Iterable[str]) -> None:
        if "mpi_blocking_key" in self.empty:
            return  # every member is one the run added, and those are in the view
        todo = [k for k in dict.fromkeys(keys) if k not in self.blocks]
        self._read_blocks(todo, self.block_cap)

    def _read_blocks(self, todo: list[str], cap: int | None) -> None:
        read: dict[str, list[int]] = {key: [] for key in todo}
        for key in todo:
            self.full.discard(key)
        pg = self.conn.dialect.name == "postgresql"
        for part in batches(sorted(todo)):
            if cap is not None and pg:
                # The lowest ``cap`` members of each key: an index range read each, however
                # large the block (a JOHN SMITH key in a city-sized index).
                rows = self.conn.execute(_CAPPED_BLOCKS, {"keys": part, "n": cap})
            else:
                rows = self.conn.execute(
                    select(_K.key, _K.patient_id)
                    .where(self._among(_K.key, part))
                    .order_by(_K.key, _K.patient_id)
                )
            for key, pid in rows:
                read[key].append(pid)
        for key, members in read.items():
            self.blocks[key] = _packed(members) if members else ()
        if cap is not None:
            for key, members in read.items():
                if len(members) >= cap:
                    del members[cap:]
                    self.blocks[key] = _packed(members)
                    self.full.add(key)
                    for pid in members:
                        self.in_full[pid].append(key)
                        if pid in self.rekeyed and key not in (self.patients[pid].keys or ()):
                            self.lost.add(key)

    def members(self, key: str) -> Sequence[int]:
        """Who holds this key now: as stored, except patients this chunk re-keyed, whose
        membership is their new key set (so a key they lost no longer finds them)."""
        if key not in self.blocks:
            self.load_blocks([key])
        if key in self.full and key in self.lost:
            self.settle()  # the chunks written so far are in what is read
            self._read_blocks([key], None)
        base = _members(self.blocks.get(key, ()))
        added = self.block_added.get(key)
        if not added and not self.unknown_rekeyed and key not in self.stale_blocks:
            return base
        rekeyed = self.rekeyed
        if not added and not any(m in rekeyed for m in base):
            return base
        kept = {m for m in base if m not in rekeyed}
        return sorted(kept | (added or set()))

    def hits(self, keys: Iterable[str], max_block: int) -> Counter[int]:
        """``mpi.resolve.candidate_hits`` over the view (same key order, same member order)."""
        if self.block_cap is not None and max_block >= self.block_cap:
            raise ValueError(f"max_block {max_block} needs blocks read beyond {self.block_cap}")
        found: Counter[int] = Counter()
        full, lost = self.full, self.lost
        for key in sorted(keys):
            if key in full and key not in lost:
                continue  # over-full as stored, and no stored member has left it
            members = self.members(key)
            if len(members) <= max_block:
                found.update(members)
        return found

    @property
    def first_load(self) -> bool:
        """The run began with no patient stored: every patient it meets is one it created,
        held in this view from the start."""
        return "patient" in self.empty

    def record(self, patient: PatientState, like: PreparedRecord | None = None) -> PreparedRecord:
        """The patient's prepared record (``PatientState.record``).

        A first load's patients keep theirs to the end (the bulk of a patient's memory): its
        candidates are all patients of the view, and preparing one again costs more than the
        rest of a row's search. So its values are shared with the equal ones of other
        patients (~1 KB -> ~0.5 KB) once, as it is prepared, and no cache is used (a record is
        prepared again only after a change: the cache would hold records out of date)."""
        if not self.first_load:
            return patient.record(self.cache, like)
        fresh = patient.prepared is None
        prepared = patient.record(None, like)
        if fresh:
            self._share_prepared(prepared)
        return prepared

    def live_records(self, ids: Sequence[int]) -> list[PreparedRecord]:
        """``mpi.records.records_for`` over the view: live patients only, in id order."""
        self.load_patients(ids)
        found = []
        for i in sorted(set(ids)):
            state = self.patients[i]
            if state.merged_into_id is None:
                found.append(self.record(state))
                self.recorded[i] = state
        return found

    def pair(self, low: int, high: int) -> PairState | None:
        if (low, high) not in self.pairs:
            found = None
            # A first load stored no patient, so no pair either (each names two patients).
            if not self.first_load and low not in self.new_ids and high not in self.new_ids:
                row = self.conn.execute(
                    select(_R.id, _R.state, _R.score)
                    .where(_R.patient_a_id == low)
                    .where(_R.patient_b_id == high)
                ).first()
                if row is not None:
                    found = PairState(row[0], row[1], row[2])
            self.pairs[(low, high)] = found
        return self.pairs[(low, high)]

    # -- changes -----------------------------------------------------------------------------

    def new_patient(self, *, placeholder: bool, dob_placeholder: bool) -> PatientState:
        state = PatientState(
            id=self.ids.take(),
            nhs_number=None,
            family_name="",
            given_names="",
            title=None,
            date_of_birth=None,
            sex=None,
            address=None,
            postcode=None,
            gp_practice_code=None,
            merged_into_id=None,
            placeholder=placeholder,
            dob_placeholder=dob_placeholder,
            new=True,
            stored=(),
        )
        self.patients[state.id] = state
        if not self.first_load:  # in a first load every patient is new (see ``pair``)
            self.new_ids.add(state.id)
        self.changed[state.id] = state
        return state

    def mark_dirty(self, patient: PatientState) -> None:
        """The patient's columns changed: written back with the chunk."""
        patient.dirty = True
        self._share(patient)
        self.changed[patient.id] = patient

    def set_keys(self, patient: PatientState, wanted: set[str]) -> None:
        """The patient's keys are now exactly ``wanted`` (what the database held is read once,
        for the whole chunk, when the chunk is handed to be written)."""
        pid = patient.id
        full = self.in_full.get(pid)
        if full:
            self.lost.update(k for k in full if k not in wanted)
        block_added = self.block_added
        if patient.keys:
            for key in patient.keys - wanted:
                block_added[key].discard(pid)
        for key in wanted:
            block_added[key].add(pid)
        if patient.id not in self.rekeyed:
            if patient.stored is not None:
                self.stale_blocks.update(patient.stored)
            else:
                self.unknown_rekeyed = True
        patient.keys = set(wanted)
        self.rekeyed.add(patient.id)
        self.recorded[patient.id] = patient

    def add_identifier(self, patient: PatientState, values: dict[str, Any]) -> None:
        row = {
            **values,
            "patient_id": patient.id,
            "link_state": "linked",
            "linked_at": utcnow(),
            "source_hash": None,
        }
        state = IdentState(None, patient.id, "linked", None, row)
        self.idents[(values["authority"], values["value"])] = state
        self.idents_out.append(state)

    def set_source_hash(self, authority: str, value: str, ident: IdentState, digest: str) -> None:
        if ident.source_hash == digest:
            return
        ident.source_hash = digest
        if ident.row is not None:
            ident.row["source_hash"] = digest
        else:
            self.idents[(authority, value)] = ident  # it may be one ``Identifiers.get`` made
            self.hash_updates[(authority, value)] = digest

    def add_name(self, patient: PatientState, family: str, given: str, source: str) -> None:
        patient.names = (*patient.names, self.shared(family))
        patient.touched()
        self.names_out.append(
            {
                "patient_id": patient.id,
                "family_name": family,
                "given_names": given,
                "source": source,
                "recorded_at": utcnow(),
            }
        )

    def add_address(
        self, patient: PatientState, address: str | None, postcode: str | None, source: str
    ) -> None:
        patient.postcodes = (*patient.postcodes, self.shared(postcode))
        patient.touched()
        self.addresses_out.append(
            {
                "patient_id": patient.id,
                "address": address,
                "postcode": postcode,
                "source": source,
                "recorded_at": utcnow(),
            }
        )

    def audit(self, kind: str, patient_id: int, **detail: Any) -> None:
        self.events_out.append(
            {
                "at": utcnow(),
                "kind": kind,
                "patient_id": patient_id,
                "other_patient_id": None,
                "actor": self.actor,
                "detail": detail,
            }
        )

    def queue(self, low: int, high: int, values: dict[str, Any]) -> None:
        state = PairState(None, "open", values["score"], {**values, "state": "open"})
        self.pairs[(low, high)] = state
        self.pairs_out.append(state)

    def raise_pair(self, low: int, high: int, pair: PairState, values: dict[str, Any]) -> None:
        pair.score = values["score"]
        if pair.row is not None:
            pair.row.update(values)
        else:
            self.pair_updates[(low, high)] = values

    # -- hand-over ---------------------------------------------------------------------------

    def take_writes(self) -> ChunkWrites:
        """The chunk's changes as rows (``mpi.feed_write.write_chunk``), folded into the view
        so the next chunk sees them without the database: new patients and identifiers count
        as stored, each touched block holds its members after the chunk.

        Reads only what no chunk of the run has touched (keys of stored patients re-keyed for
        the first time, blocks first met here), so it may run while the previous chunk is
        being written -- but after it has committed if a capped block must be read in full
        (``settle``)."""
        now = utcnow()
        w = ChunkWrites()
        for p in self.changed.values():
            if p.new:
                w.new_patients.append(_patient_row(p, now))
            else:
                w.patient_updates.append(
                    {
                        "b_id": p.id,
                        "b_updated_at": now,
                        **{f"b_{c}": getattr(p, c) for c in MUTABLE},
                    }
                )
            p.new = p.dirty = False
        # A run-long view holds every patient the run met. A first load's patients keep their
        # prepared records (``record``). Past the cache's size, other runs' prepared records
        # go to the bounded cache instead, found again by their fields (a look-up slower than
        # keeping them).
        if not self.first_load and len(self.patients) > self.cache.size:
            for p in (*self.changed.values(), *self.recorded.values()):
                if p.prepared is not None:
                    self.cache.keep(p.prepared)
                    p.prepared = None
        self.changed = {}
        self.recorded = {}
        for ident in self.idents_out:
            assert ident.row is not None
            w.identifiers.append(ident.row)
            self.idents.written((ident.row["authority"], ident.row["value"]), ident)
            ident.row = None
        self.idents_out = []
        w.hash_updates = [
            {"b_authority": a, "b_value": v, "b_hash": h} for (a, v), h in self.hash_updates.items()
        ]
        self.hash_updates = {}
        w.names, self.names_out = self.names_out, []
        w.addresses, self.addresses_out = self.addresses_out, []
        w.events, self.events_out = self.events_out, []
        for pair in self.pairs_out:
            assert pair.row is not None
            w.pairs.append({**pair.row, "created_at": now})
            pair.row = None
        self.pairs_out = []
        w.pair_updates = [
            {
                "b_low": low,
                "b_high": high,
                "b_score": v["score"],
                "b_decision": v["decision"],
                "b_risk": v["risk"],
            }
            for (low, high), v in self.pair_updates.items()
        ]
        self.pair_updates = {}
        self._fold_keys(w)
        return w

    def _fold_keys(self, w: ChunkWrites) -> None:
        unknown = [pid for pid in self.rekeyed if self.patients[pid].stored is None]
        stored = self._stored_keys(unknown)
        touched: set[str] = set()
        for pid in sorted(self.rekeyed):
            patient = self.patients[pid]
            keys = patient.keys or set()
            had = set(patient.stored) if patient.stored is not None else stored.get(pid, set())
            gone, added = sorted(had - keys), sorted(keys - had)
            w.keys_gone += [{"b_pid": pid, "b_key": k} for k in gone]
            w.keys_added += [{"patient_id": pid, "key": k} for k in added]
            touched.update(gone)
            touched.update(added)
        self.load_blocks(touched)
        for key in touched:
            if key in self.full and key not in self.lost:
                continue  # still over-full (every stored member read keeps it): never searched
            members = self.members(key)
            if members:
                self.blocks[key] = _packed(members)
            else:
                self.blocks.pop(key, None)
                if "mpi_blocking_key" not in self.empty:
                    self.blocks[key] = ()
        for pid in self.rekeyed:
            patient = self.patients[pid]
            patient.stored = tuple(sorted(patient.keys or ()))
            patient.keys = None
        self.rekeyed = set()
        self.block_added = defaultdict(set)
        self.lost = set()
        self.stale_blocks = set()
        self.unknown_rekeyed = False

    def write(self) -> None:
        """Hand the chunk over and write it through the view's own connection."""
        write_chunk(self.conn, self.take_writes())

    def _stored_keys(self, ids: list[int]) -> dict[int, set[str]]:
        stored: dict[int, set[str]] = defaultdict(set)
        if "mpi_blocking_key" in self.empty:
            return stored
        for part in batches(ids):
            for pid, key in self.conn.execute(
                select(_K.patient_id, _K.key).where(self._among(_K.patient_id, part))
            ):
                stored[pid].add(key)
        return stored


def _patient_row(p: PatientState, now: Any) -> dict[str, Any]:
    return {
        "id": p.id,
        **{c: getattr(p, c) for c in MUTABLE},
        "merged_into_id": None,
        "created_origin": None,
        "rechecked_at": None,
        "created_at": now,
        "updated_at": now,
    }
