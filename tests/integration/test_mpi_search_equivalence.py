"""The interactive search (`mpi.resolve.search`) decides as the straightforward path it replaced:
one ORM read per blocking key, candidates loaded as ORM patients with three queries, every
candidate fully decided. Synthetic people (twins, namesakes, slips, married names, moves) on
SQLite and PostgreSQL, with name and address history and merged records in the index."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from bench.synthetic_people import generate
from mpi.history import BlockingKey, PatientAddress, PatientName
from mpi.matching.decide import MatchDecision, best_matches
from mpi.matching.record import PersonRecord
from mpi.models import Patient
from mpi.records import keys_for, normal_postcode, person_record, record_of
from mpi.resolve import DEFAULT_CONFIG, MatchConfig, search

INDEXED = 500
QUERIES = 150


def _load(session: Session, records: list[PersonRecord]) -> dict[int, PersonRecord]:
    """Patients numbered from 1 with their history rows and blocking keys (as stored records
    would be, history included); every seventh record is merged into the one before it."""
    stored: dict[int, PersonRecord] = {}
    for number, r in enumerate(records, start=1):
        other = records[number % len(records)]  # a neighbour's name and postcode, earlier
        previous_names = [other.family_name, *r.previous_family_names]
        previous_postcodes = [other.postcode, *r.previous_postcodes]
        session.execute(
            insert(Patient.__table__).values(  # type: ignore[arg-type]
                id=number,
                nhs_number=r.nhs_number,
                family_name=r.family_name,
                given_names=r.given_names,
                date_of_birth=r.dob,
                sex=r.sex,
                address=r.address_line,
                postcode=normal_postcode(r.postcode),
                placeholder=False,
                dob_placeholder=r.dob_placeholder,
            )
        )
        # Previous names twice (a name kept twice is still one previous name) and the current
        # one as history too, as a correction and its undo leave them; an address without one.
        for family in (*previous_names, *previous_names, r.family_name):
            session.add(PatientName(patient_id=number, family_name=family, given_names=""))
        for postcode in (*previous_postcodes, None):
            session.add(PatientAddress(patient_id=number, address="1 Old Road", postcode=postcode))
        session.flush()
        held = person_record(
            str(number),
            nhs=r.nhs_number,
            family_name=r.family_name,
            given_names=r.given_names,
            dob=r.dob,
            dob_placeholder=r.dob_placeholder,
            sex=r.sex,
            postcode=normal_postcode(r.postcode),
            address=r.address_line,
            previous_family_names=[n for n in previous_names if n != r.family_name],
            previous_postcodes=[normal_postcode(p) for p in previous_postcodes],
        )
        session.execute(
            insert(BlockingKey.__table__),  # type: ignore[arg-type]
            [{"key": k, "patient_id": number} for k in sorted(keys_for(held))],
        )
        stored[number] = held
    for number in range(7, len(records) + 1, 7):
        # Merged, keys left behind: a stale key must not bring a merged record back.
        session.execute(
            update(Patient).where(Patient.id == number).values(merged_into_id=number - 1)
        )
    session.flush()
    return stored


def _reference(
    session: Session,
    incoming: PersonRecord,
    config: MatchConfig = DEFAULT_CONFIG,
    exclude: frozenset[int] = frozenset(),
) -> list[MatchDecision]:
    """The search as it was: a read per key (in key order, each block by patient), ORM
    patients and history, every candidate decided, new people dropped."""
    hits: Counter[int] = Counter()
    for key in sorted(keys_for(incoming)):
        members = list(
            session.scalars(
                select(BlockingKey.patient_id)
                .where(BlockingKey.key == key)
                .order_by(BlockingKey.patient_id)
                .limit(config.max_block + 1)
            )
        )
        if len(members) <= config.max_block:
            hits.update(members)
    for patient_id in exclude:
        hits.pop(patient_id, None)
    ids = sorted(pid for pid, _ in hits.most_common(config.max_candidates))
    if not ids:
        return []
    patients = session.scalars(
        select(Patient)
        .where(Patient.id.in_(ids))
        .where(Patient.merged_into_id.is_(None))
        .order_by(Patient.id)
    ).all()
    names = session.execute(
        select(PatientName.patient_id, PatientName.family_name)
        .where(PatientName.patient_id.in_(ids))
        .order_by(PatientName.id)
    ).all()
    addresses = session.execute(
        select(PatientAddress.patient_id, PatientAddress.postcode)
        .where(PatientAddress.patient_id.in_(ids))
        .order_by(PatientAddress.id)
    ).all()
    candidates = [
        record_of(
            p,
            [n for pid, n in names if pid == p.id],
            [pc for pid, pc in addresses if pid == p.id and pc],
        )
        for p in patients
    ]
    every = best_matches(
        incoming,
        candidates,
        config.model,
        config.thresholds,
        limit=len(candidates),
        include_new_person=True,
    )
    return [d for d in every if d.zone != "new_person"][: config.limit]


def test_search_decides_as_the_per_key_orm_search_it_replaced(services):
    data = generate(INDEXED + QUERIES, 3)
    indexed, held_out = list(data.records[:INDEXED]), list(data.records[INDEXED:])
    # A block over the cap: a name-only key shared by 12 people, searched with max_block 10.
    common = [replace(r, family_name="Smith", given_names="John") for r in indexed[:12]]
    small_blocks = MatchConfig(max_block=10, max_candidates=8)
    with Session(services.engine) as session:
        stored = _load(session, indexed[12:] + common)
        queries = [*held_out, *common[:4]]
        queries += [replace(q, nhs_number=None) for q in held_out[:50]]
        seen: Counter[str] = Counter()
        for q in queries:
            for config in (DEFAULT_CONFIG, small_blocks):
                found = search(session, q, config=config)
                assert found == _reference(session, q, config), q
                seen.update(d.zone for d in found)
        # Each stored record finds itself and its duplicates; excluded, only the others.
        for number in range(1, INDEXED + 1, 5):
            mine = stored[number]
            gone = frozenset({number})
            assert search(session, mine, exclude=gone) == _reference(session, mine, exclude=gone)
        session.rollback()
    assert seen["auto_link"] > 20 and seen["review"] > 20
