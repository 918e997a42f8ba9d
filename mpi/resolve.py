"""The master patient index search: exact identifiers, NHS number, then blocking and scoring.

Tiers, in order, each cheaper and surer than the next:

1. a local identifier already on file (hospital number, A&E number, a GP practice's id);
2. a valid NHS number already on file;
3. candidates sharing a blocking key (indexed look-ups, one per key, never a scan), scored with
   ``mpi.matching``: auto-link attaches the incoming identifiers to that patient; review creates
   a new patient *and* queues the pair for the clerks; otherwise a new person.

Every path follows merge redirects, keeps demographic history, refreshes the patient's blocking
keys and writes identity audit events, so the index never lags the record.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, inspect, or_, select, union_all
from sqlalchemy.orm import Session

from mpi import audit, nhs_number
from mpi.history import BlockingKey, PatientAddress, PatientName
from mpi.matching.decide import DEFAULT_THRESHOLDS, MatchDecision, Thresholds, best_matches
from mpi.matching.prepared import PreparedRecord, prepare
from mpi.matching.record import PersonRecord
from mpi.matching.weights import DEFAULT_MODEL, MatchModel
from mpi.models import NHS_AUTHORITY, Patient, PatientIdentifier
from mpi.records import (
    is_placeholder_name,
    keys_for,
    looks_like_placeholder_dob,
    normal_postcode,
    person_record,
    record_of,
    records_for,
    refresh_keys,
)
from mpi.review import queue_pair
from whiteboard.commands import PatientDetails
from whiteboard.errors import InvalidCommand

DEMOGRAPHIC_FIELDS = (
    "family_name",
    "given_names",
    "title",
    "date_of_birth",
    "sex",
    "address",
    "postcode",
    "gp_practice_code",
)
# Corrections to these are sent downstream as A08 (PatientDetailsCorrected).
IDENTITY_FIELDS = ("family_name", "given_names", "date_of_birth", "sex", "nhs_number")


@dataclass(frozen=True)
class MatchConfig:
    """How the search scores and how far it looks.

    ``max_block`` skips a key shared by more records than this (JOHN SMITH's name-only key in a
    city-sized index); the other keys of the record still find its duplicates.
    """

    model: MatchModel = DEFAULT_MODEL
    thresholds: Thresholds = DEFAULT_THRESHOLDS
    max_block: int = 200
    max_candidates: int = 60
    limit: int = 5


DEFAULT_CONFIG = MatchConfig()


@dataclass(frozen=True)
class Resolution:
    patient: Patient
    created: bool
    changed_fields: tuple[str, ...]
    tier: str = "identifier"  # identifier | nhs_number | probabilistic | new
    score: float | None = None
    queued_with: tuple[int, ...] = field(default=())


def resolve_identity(
    session: Session,
    details: PatientDetails,
    *,
    origin: str | None = None,
    source: str = "adt",
    config: MatchConfig = DEFAULT_CONFIG,
    authoritative: frozenset[str] | None = None,
) -> Resolution:
    """Find (or create) the one enterprise patient these details describe.

    ``origin`` marks a record created here ("AE" for an A&E registration: the 24-hour sweep
    re-checks those). ``authoritative`` lists the fields this source overwrites on an existing
    patient (default: all of them, as for ADT); other fields are only filled when blank.
    """
    if not details.identifiers and not details.nhs_number:
        raise InvalidCommand("the patient has no identifier (PID-3) and no NHS number")
    nhs = _valid_nhs(details.nhs_number)
    placeholder = is_placeholder_name(details.family_name, details.given_names)
    wanted = _wanted(details, nhs)
    patient, tier, holders = _find_exact(session, details, nhs, wanted)
    # Its identity events, in the order they happen, written in one statement at the end.
    events: list[dict[str, Any]] = []
    disputed_nhs = (
        tier == "nhs_number"
        and patient is not None
        and not placeholder
        and nhs_number_contradicted(session, patient, _incoming_record(details, None, False))
    )
    if disputed_nhs:
        patient, tier = None, "new"
    # A disputed NHS number stays with the record that holds it; attaching it below queues
    # the two records for the clerks instead.
    own_nhs = None if disputed_nhs else nhs
    created = False
    incoming_keys: tuple[PersonRecord, set[str]] | None = None
    score: float | None = None
    queued: list[int] = []
    new_fields: tuple[str, ...] = ()
    if patient is None:
        incoming = _incoming_record(details, own_nhs, placeholder)
        decisions: list[MatchDecision] = []
        if not placeholder:
            # Its keys are a new patient's too when the patient's record comes out the same
            # (``refresh_keys``): worked out once.
            prepared = prepare(incoming)
            incoming_keys = (incoming, keys_for(prepared))
            decisions = search(session, prepared, config=config, keys=incoming_keys[1])
        top = decisions[0] if decisions else None
        if top is not None and top.zone == "auto_link":
            patient = session.get_one(Patient, int(top.record_id_b))
            tier, score = "probabilistic", top.score
        else:
            # The identifiers no other record holds go in with the patient: one flush.
            plan = _identifier_plan(wanted, set(), holders)
            patient = Patient(
                identifiers=[_new_identifier(i, "exact", None) for i, o in plan if o is None],
                created_origin=origin,
                placeholder=placeholder,
                dob_placeholder=looks_like_placeholder_dob(details.date_of_birth, placeholder),
            )
            # Demographics before the first flush: one INSERT, not an INSERT then an UPDATE.
            new_fields = apply_demographics(
                session, patient, details, own_nhs, placeholder, source=source, only=authoritative
            )
            session.add(patient)
            session.flush()
            created, tier = True, "new"
            events.append(audit.row("add", patient.id, actor=source, origin=origin))
            for decision in decisions:
                if decision.zone == "review":
                    other = int(decision.record_id_b)
                    queue_pair(
                        session,
                        patient.id,
                        other,
                        _with_ids(decision, patient.id),
                        found_by=source,
                        live=origin is not None,
                    )
                    queued.append(other)
    if created:
        changed = new_fields
    else:
        changed = apply_demographics(
            session, patient, details, own_nhs, placeholder, source=source, only=authoritative
        )
        plan = _identifier_plan(wanted, *_known_and_owners(patient, holders))
    link_source = "probabilistic" if tier == "probabilistic" else "exact"
    _attach_identifiers(session, patient, plan, link_source, score, source, events, written=created)
    if created or changed:
        session.flush()
        refresh_keys(session, patient, fresh=created, like=incoming_keys if created else None)
        if changed and not created:
            events.append(audit.row("update", patient.id, actor=source, fields=list(changed)))
    audit.write(session, events)
    session.flush()
    return Resolution(patient, created, changed, tier, score, tuple(queued))


def search(
    session: Session,
    incoming: PersonRecord | PreparedRecord,
    *,
    config: MatchConfig = DEFAULT_CONFIG,
    exclude: frozenset[int] = frozenset(),
    placeholder: bool = False,
    keys: set[str] | None = None,
) -> list[MatchDecision]:
    """Best candidates for a record, through indexed blocking-key look-ups only.

    Two statements: the blocks (one UNION ALL of per-key indexed reads) and the candidates
    with their history (``records_for``). The incoming record is normalised once, for its keys
    and for every comparison; candidates below the review threshold are scored but never
    explained (``best_matches``). ``keys``: the record's ``keys_for``, when the caller has
    worked them out already.
    """
    prepared = prepare(incoming)
    if keys is None:
        keys = keys_for(prepared, placeholder)
    hits = candidate_hits(session, keys, config.max_block)
    for patient_id in exclude:
        hits.pop(patient_id, None)
    if not hits:
        return []
    # True duplicates share several keys; scoring only the records sharing the most keeps the
    # cost of a search bounded however common the name (a JOHN SMITH born in 1980).
    ids = [pid for pid, _ in hits.most_common(config.max_candidates)]
    candidates = records_for(session, ids).values()
    return best_matches(prepared, candidates, config.model, config.thresholds, limit=config.limit)


_KEYS = BlockingKey.__table__.c  # type: ignore[attr-defined]


@lru_cache(maxsize=64)
def _blocks(n_keys: int) -> Any:
    """One statement reading ``n_keys`` blocks, each still an indexed read capped at ``n``.

    A UNION ALL of per-key LIMITed reads (each wrapped as a subquery, which SQLite needs for
    a LIMIT inside a compound select): the same index work as one query per key, in one round
    trip. A search has 5-20 keys; building and running a statement each was a large part of
    a new patient's cost. Built once per key count and cached.
    """
    parts = [
        select(_KEYS.key, _KEYS.patient_id)
        .where(_KEYS.key == bindparam(f"k{i}"))
        .limit(bindparam("n", literal_execute=False))
        .subquery()
        .select()
        for i in range(n_keys)
    ]
    return parts[0] if n_keys == 1 else union_all(*parts)


def candidate_hits(session: Session, keys: set[str], max_block: int) -> Counter[int]:
    """Patients sharing a key with the number of keys each shares.

    Indexed range reads, at most ``max_block + 1`` rows per key (Core, no ORM overhead, one
    statement for all keys); over-full blocks are skipped.
    """
    found: Counter[int] = Counter()
    if not keys:
        return found
    params: dict[str, Any] = {f"k{i}": key for i, key in enumerate(sorted(keys))}
    params["n"] = max_block + 1
    members: dict[str, list[int]] = {}
    for key, patient_id in session.connection().execute(_blocks(len(keys)), params):
        members.setdefault(key, []).append(patient_id)
    # Keys in order and each block by patient id, whatever order the database returned them
    # in: the order breaks ties among equally good candidates (``most_common``), so it must
    # not depend on the dialect's plan (the bulk GP feed's ``ChunkView.hits`` counts alike).
    for key in sorted(members):
        ids = members[key]
        if len(ids) <= max_block:
            found.update(sorted(ids))
    return found


def survivor(session: Session, patient: Patient) -> Patient:
    """Follow merge redirects so an old number still reaches the surviving record."""
    seen: set[int] = set()
    while patient.merged_into_id is not None and patient.id not in seen:
        seen.add(patient.id)
        patient = session.get_one(Patient, patient.merged_into_id)
    return patient


def take_demographics(
    patient: Any,
    details: PatientDetails,
    nhs: str | None,
    placeholder: bool,
    only: frozenset[str] | None = None,
) -> tuple[str, ...]:
    """Set the sender's values on a patient (an ORM ``Patient`` or the bulk GP feed's
    ``PatientState``, so both paths decide alike); returns the fields changed.

    A placeholder ("Unknown Male") never overwrites a real name; a real name replaces a
    placeholder's and clears the flag. ``only`` lists the fields this source overwrites;
    the others are only filled when blank.
    """
    if placeholder and not patient.placeholder and patient.family_name:
        return ()
    values: dict[str, Any] = {name: getattr(details, name) for name in DEMOGRAPHIC_FIELDS}
    values["postcode"] = normal_postcode(details.postcode)
    values["nhs_number"] = nhs
    changed = []
    for name, value in values.items():
        if value in (None, ""):
            continue
        current = getattr(patient, name)
        if only is not None and name not in only and current not in (None, ""):
            continue
        if current != value:
            setattr(patient, name, value)
            changed.append(name)
    if patient.placeholder and not placeholder:
        patient.placeholder = False
        if details.date_of_birth is not None:
            patient.dob_placeholder = False
        changed.append("placeholder")
    return tuple(changed)


def apply_demographics(
    session: Session,
    patient: Patient,
    details: PatientDetails,
    nhs: str | None,
    placeholder: bool,
    *,
    source: str,
    only: frozenset[str] | None = None,
) -> tuple[str, ...]:
    """Take the sender's values, keeping the old name and address as searchable history."""
    old_name = (patient.family_name, patient.given_names)
    old_address = (patient.address, patient.postcode)
    changed = take_demographics(patient, details, nhs, placeholder, only)
    if (
        patient.id is not None
        and old_name[0]
        and old_name
        != (
            patient.family_name,
            patient.given_names,
        )
    ):
        session.add(
            PatientName(
                patient_id=patient.id,
                family_name=old_name[0],
                given_names=old_name[1],
                source=source,
            )
        )
    if (
        patient.id is not None
        and old_address[1]
        and old_address
        != (
            patient.address,
            patient.postcode,
        )
    ):
        session.add(
            PatientAddress(
                patient_id=patient.id,
                address=old_address[0],
                postcode=old_address[1],
                source=source,
            )
        )
    return changed


def _valid_nhs(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return nhs_number.validate(raw)
    except nhs_number.InvalidNhsNumber:
        return None


def _wanted(details: PatientDetails, nhs: str | None) -> list[tuple[str, str, str, bool]]:
    """The (authority, value, type, valid) identifiers the message gives the record."""
    wanted = [(i.authority, i.value, i.id_type, True) for i in details.identifiers]
    if details.nhs_number:
        value = nhs or details.nhs_number.strip()[:40]
        wanted.append((NHS_AUTHORITY, value, "NH", nhs is not None))
    return wanted


def _find_exact(
    session: Session,
    details: PatientDetails,
    nhs: str | None,
    wanted: list[tuple[str, str, str, bool]],
) -> tuple[Patient | None, str, dict[tuple[str, str], int]]:
    """The patient, the tier, and who holds each of the message's identifiers, in any link
    state.

    One statement reads every row holding one of the message's identifiers, with its
    patient: the exact tier is the first of PID-3's identifiers held ``linked``, and the
    holders are what ``_identifier_plan`` checks before attaching, so nothing asks
    again (nothing in between writes an identifier).
    """
    holders: dict[tuple[str, str], int] = {}
    linked: dict[tuple[str, str], Patient] = {}
    pairs = {(a, v) for a, v, _t, _ok in wanted}
    if pairs:
        params: dict[str, str] = {}
        for i, (authority, value) in enumerate(sorted(pairs)):
            params[f"a{i}"], params[f"v{i}"] = authority, value
        rows = session.execute(_held_query(len(pairs)), params)
        for authority, value, link_state, holder in rows:
            holders[(authority, value)] = holder.id
            if link_state == "linked":
                linked[(authority, value)] = holder
    for ident in details.identifiers:
        found = linked.get((ident.authority, ident.value))
        if found is not None:
            return survivor(session, found), "identifier", holders
    if nhs:
        found = session.scalars(_by_nhs(), {"nhs": nhs}).first()
        if found is not None:
            return found, "nhs_number", holders
    return None, "new", holders


def nhs_number_contradicted(session: Session, patient: Patient, incoming: PersonRecord) -> bool:
    """Whether the rest of the details say another person than the one holding the number.

    An NHS number passes its checksum whatever record it is typed on, so a relative's number
    (a twin's, a parent's) on a registration would otherwise fold two people into one record,
    and overwrite one's name and date of birth with the other's. Absent details are no
    evidence either way (a lab result may carry little more than the number), nor is what a
    slip explains (an initial, a nickname, a wrong sex); only a positive disagreement counts:
    dates of birth years apart, Jr against Sr, a twin (same surname, date of birth and home,
    a different forename), or date of birth, surname and forename all different.
    """
    if patient.placeholder or patient.dob_placeholder:
        return False
    return record_contradicts(records_for(session, [patient.id]).get(patient.id), incoming)


def record_contradicts(
    held: PersonRecord | PreparedRecord | None, incoming: PersonRecord | PreparedRecord
) -> bool:
    """The comparison behind ``nhs_number_contradicted``, on the holder's matching record
    (the bulk GP feed calls it with the prepared record it already holds). Each record is
    prepared once for the comparisons and the vetoes; the holder's number is left out."""
    if held is None:
        return False
    from mpi.matching.compare import compare_levels
    from mpi.matching.vetoes import vetoes_for_levels

    mine = _without_nhs(prepare(held))
    theirs = prepare(incoming)
    levels = compare_levels(theirs, mine)
    vetoes = {v.code for v in vetoes_for_levels(theirs, mine, levels)}
    if vetoes & {"dob_far_apart", "generation_suffix"}:
        return True
    if "twins" in vetoes and levels["forename"] == "different":
        return True
    return levels["dob"] == levels["surname"] == levels["forename"] == "different"


def _without_nhs(prepared: PreparedRecord) -> PreparedRecord:
    """``prepare(replace(record, nhs_number=None))`` without preparing again: the number is
    the only field that changes, and only the number's two fields depend on it."""
    if prepared.record.nhs_number is None:
        return prepared
    return dataclasses.replace(
        prepared,
        record=dataclasses.replace(prepared.record, nhs_number=None),
        nhs_number=None,
        nhs_number_given=False,
    )


@lru_cache(maxsize=16)
def _held_query(n_pairs: int) -> Any:
    """Built once per number of identifiers (every ADT message runs it; building costs more
    than SQLite answering), with parameters per identifier rather than an expanding IN, which
    is rendered again on every execution. By (authority, value), each an equality on the
    unique index: a value alone is not indexed, and looking it up scanned the whole table
    (PostgreSQL's plan: a sequential scan; 1.4 million rows at the seed hospital's size)."""
    return (
        select(
            PatientIdentifier.authority,
            PatientIdentifier.value,
            PatientIdentifier.link_state,
            Patient,
        )
        .join(Patient, Patient.id == PatientIdentifier.patient_id)
        .where(
            or_(
                *(
                    and_(
                        PatientIdentifier.authority == bindparam(f"a{i}"),
                        PatientIdentifier.value == bindparam(f"v{i}"),
                    )
                    for i in range(n_pairs)
                )
            )
        )
    )


@lru_cache(maxsize=1)
def _by_nhs() -> Any:
    return (
        select(Patient)
        .where(Patient.nhs_number == bindparam("nhs"))
        .where(Patient.merged_into_id.is_(None))
        .order_by(Patient.id)
    )


def _incoming_record(details: PatientDetails, nhs: str | None, placeholder: bool) -> PersonRecord:
    dob: date | None = details.date_of_birth
    return person_record(
        "incoming",
        nhs=nhs,
        family_name=details.family_name,
        given_names=details.given_names,
        dob=dob,
        dob_placeholder=looks_like_placeholder_dob(dob, placeholder) and placeholder,
        sex=details.sex,
        postcode=normal_postcode(details.postcode),
        address=details.address,
    )


def _with_ids(decision: MatchDecision, patient_id: int) -> dict[str, Any]:
    data = decision.as_dict()
    data["record_id_a"] = str(patient_id)
    return data


def _known_and_owners(
    patient: Patient, holders: dict[tuple[str, str], int]
) -> tuple[set[tuple[str, str]], dict[tuple[str, str], int]]:
    """The message's identifiers the patient holds, and the other records holding the rest."""
    if "identifiers" not in inspect(patient).unloaded:  # read already
        known = {(i.authority, i.value) for i in patient.identifiers}
        return known, {pair: holder for pair, holder in holders.items() if pair not in known}
    # Who holds what from the look-up (``_find_exact``), rather than loading the record's
    # whole identifier collection through the ORM (most messages add none).
    known = {pair for pair, holder in holders.items() if holder == patient.id}
    return known, {pair: holder for pair, holder in holders.items() if holder != patient.id}


def _identifier_plan(
    wanted: list[tuple[str, str, str, bool]],
    known: set[tuple[str, str]],
    owners: dict[tuple[str, str], int],
) -> list[tuple[tuple[str, str, str, bool], int | None]]:
    """In the message's order, each identifier the record lacks with the other record holding
    it (None: free to attach; an identifier given twice is attached once)."""
    plan: list[tuple[tuple[str, str, str, bool], int | None]] = []
    seen = set(known)
    for ident in wanted:
        pair = (ident[0], ident[1])
        if pair in seen:
            continue
        owner = owners.get(pair)
        plan.append((ident, owner))
        if owner is None:
            seen.add(pair)
    return plan


def _new_identifier(
    ident: tuple[str, str, str, bool], link_source: str, score: float | None
) -> PatientIdentifier:
    authority, value, id_type, valid = ident
    return PatientIdentifier(
        authority=authority,
        value=value,
        id_type=id_type,
        valid=valid,
        link_source=link_source,
        link_score=score,
    )


def _attach_identifiers(
    session: Session,
    patient: Patient,
    plan: list[tuple[tuple[str, str, str, bool], int | None]],
    link_source: str,
    score: float | None,
    source: str,
    events: list[dict[str, Any]],
    *,
    written: bool = False,
) -> None:
    """Attach the identifiers ``_identifier_plan`` found free and queue the records holding
    the others for the clerks, in the message's order; a "link" identity event each attached.
    ``written``: a new patient's identifiers went in with it (one flush, not two)."""
    loaded = "identifiers" not in inspect(patient).unloaded
    for ident, owner in plan:
        if owner is not None:
            # Held by another record: a possible duplicate for the clerks, never a silent
            # re-pointing of someone else's number.
            _queue_conflict(session, patient, owner, source)
            continue
        if not written:
            identifier = _new_identifier(ident, link_source, score)
            if loaded:
                patient.identifiers.append(identifier)
            else:  # the collection loads with it when next read (after the autoflush)
                identifier.patient_id = patient.id
                session.add(identifier)
        authority, value, _id_type, valid = ident
        events.append(
            audit.row(
                "link",
                patient.id,
                actor=source,
                authority=authority,
                value=value,
                link_source=link_source,
                score=score,
                valid=valid,
            )
        )


def _queue_conflict(session: Session, patient: Patient, owner_id: int, source: str) -> None:
    owner = survivor(session, session.get_one(Patient, owner_id))
    if owner.id == patient.id:
        return
    session.flush()
    records = records_for(session, [patient.id, owner.id])
    if len(records) < 2:
        return
    from mpi.matching.decide import score_pair

    decision = score_pair(records[patient.id], records[owner.id]).as_dict()
    queue_pair(session, patient.id, owner.id, decision, found_by=f"{source}:identifier")


__all__ = [
    "DEFAULT_CONFIG",
    "MatchConfig",
    "Resolution",
    "apply_demographics",
    "record_of",
    "resolve_identity",
    "search",
    "survivor",
]
