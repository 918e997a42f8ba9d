"""From stored patients (with their history) to the ``PersonRecord`` that matching compares,
and the blocking-key index kept in step with every create, update, merge and unmerge.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import Session

from mpi import nhs_number
from mpi.history import BlockingKey, PatientAddress, PatientName
from mpi.matching.blocking import blocking_keys
from mpi.matching.normalise import normalise_postcode
from mpi.matching.prepared import PreparedRecord
from mpi.matching.record import PersonRecord
from mpi.models import Patient

PLACEHOLDER_NAMES = frozenset({"UNKNOWN", "UNK", "NOT KNOWN", "NK", "UNNAMED", "UNIDENTIFIED"})
_SEXES = {"M", "F", "U"}


def is_placeholder_name(family_name: str, given_names: str) -> bool:
    """An A&E stand-in such as "Unknown Male" or "UNKNOWN, Female 3"."""
    family = family_name.strip().upper()
    given = given_names.strip().upper()
    return not family or family in PLACEHOLDER_NAMES or given.split(" ")[0] in PLACEHOLDER_NAMES


def looks_like_placeholder_dob(dob: date | None, placeholder_name: bool) -> bool:
    """An estimated birth date is usually 1 January of a guessed year."""
    return dob is not None and (placeholder_name or (dob.day == 1 and dob.month == 1))


def first_line(address: str | None) -> str | None:
    if not address:
        return None
    return address.split(",")[0].strip() or None


def person_record(
    record_id: str,
    *,
    nhs: str | None,
    family_name: str,
    given_names: str,
    dob: date | None,
    dob_placeholder: bool,
    sex: str | None,
    postcode: str | None,
    address: str | None,
    previous_family_names: Iterable[str] = (),
    previous_postcodes: Iterable[str] = (),
) -> PersonRecord:
    valid_nhs = nhs if nhs and nhs_number.is_valid(nhs) else None
    return PersonRecord(
        record_id=record_id,
        nhs_number=valid_nhs,
        family_name=family_name or "",
        given_names=given_names or "",
        previous_family_names=(
            tuple(n for n in dict.fromkeys(previous_family_names) if n)
            if previous_family_names
            else ()
        ),
        dob=dob,
        dob_placeholder=dob_placeholder,
        sex=sex if sex in _SEXES else None,  # type: ignore[arg-type]
        postcode=postcode,
        previous_postcodes=(
            tuple(p for p in dict.fromkeys(previous_postcodes) if p) if previous_postcodes else ()
        ),
        address_line=first_line(address),
    )


def records_for(session: Session, patient_ids: Iterable[int]) -> dict[int, PersonRecord]:
    """One matching record per live patient, with previous names and postcodes, in id order.

    One prebuilt Core statement (patients outer-joined to their name and address history),
    not three ORM queries: a search loads up to 60 candidates and never changes them, and
    building and running statements through the ORM was most of a search's time. Pending
    changes are flushed first, as an ORM query would autoflush them.
    """
    ids = sorted(set(patient_ids))
    if not ids:
        return {}
    if session.autoflush:
        session.flush()
    rows: dict[int, Any] = {}
    names: dict[int, dict[int, str]] = defaultdict(dict)
    postcodes: dict[int, dict[int, str]] = defaultdict(dict)
    for row in session.connection().execute(_records_statement(), {"ids": ids}):
        pid = row.id
        rows.setdefault(pid, row)
        if row.name_id is not None:
            names[pid][row.name_id] = row.previous_family_name
        if row.address_id is not None and row.previous_postcode:
            postcodes[pid][row.address_id] = row.previous_postcode
    return {
        pid: record_of(row, names[pid].values(), postcodes[pid].values())
        for pid, row in rows.items()
    }


_RECORD_COLUMNS = (
    Patient.id,
    Patient.nhs_number,
    Patient.family_name,
    Patient.given_names,
    Patient.placeholder,
    Patient.date_of_birth,
    Patient.dob_placeholder,
    Patient.sex,
    Patient.postcode,
    Patient.address,
)


@cache
def _records_statement() -> Any:
    """Live patients by id with every history row (a patient with n previous names and m
    addresses gives n x m rows, one when it has none; ordered so history keeps its order).
    Each join is an indexed look-up by ``patient_id``."""
    return (
        select(
            *_RECORD_COLUMNS,
            PatientName.id.label("name_id"),
            PatientName.family_name.label("previous_family_name"),
            PatientAddress.id.label("address_id"),
            PatientAddress.postcode.label("previous_postcode"),
        )
        .outerjoin(PatientName, PatientName.patient_id == Patient.id)
        .outerjoin(PatientAddress, PatientAddress.patient_id == Patient.id)
        .where(Patient.id.in_(bindparam("ids", expanding=True)))
        .where(Patient.merged_into_id.is_(None))
        .order_by(Patient.id, PatientName.id, PatientAddress.id)
    )


def record_of(
    p: Patient | Any, previous_names: Iterable[str] = (), previous_postcodes: Iterable[str] = ()
) -> PersonRecord:
    return person_record(
        str(p.id),
        nhs=p.nhs_number,
        family_name=p.family_name,
        given_names="" if p.placeholder else p.given_names,
        dob=p.date_of_birth,
        dob_placeholder=p.dob_placeholder,
        sex=p.sex,
        postcode=p.postcode,
        address=p.address,
        previous_family_names=[n for n in previous_names if n != p.family_name],
        previous_postcodes=[pc for pc in previous_postcodes if pc != p.postcode],
    )


def keys_for(record: PersonRecord | PreparedRecord, placeholder: bool = False) -> set[str]:
    """A placeholder's made-up name must not put it in every UNKNOWN block: NHS key only."""
    return keys_for_record_keys(blocking_keys(record), placeholder)


def keys_for_record_keys(keys: set[str], placeholder: bool) -> set[str]:
    """``keys_for`` from a record's ``blocking_keys`` already worked out."""
    return {k for k in keys if k.startswith("N:")} if placeholder else set(keys)


def refresh_keys(
    session: Session,
    patient: Patient,
    *,
    fresh: bool = False,
    like: tuple[PersonRecord, set[str]] | None = None,
) -> None:
    """Make the stored keys of one patient exactly those of its current record.

    ``fresh``: the patient was created in this transaction, so it has no history and no keys
    yet and nothing needs reading back (the feed's and registration's common case). ``like``:
    a record and its ``keys_for`` (the details the patient was created from, searched with
    just before); used only when the patient's own record equals it but for the id, as keys
    depend on nothing else, so the names' phonetic codes are not worked out twice.
    """
    if fresh:
        if patient.id is None:
            session.flush()
        record = record_of(patient)
        if like is not None and replace(like[0], record_id=record.record_id) == record:
            wanted = keys_for_record_keys(like[1], patient.placeholder)
        else:
            wanted = keys_for(record, patient.placeholder)
        _insert_keys(session, patient.id, wanted)
        return
    if patient.merged_into_id is not None:
        session.execute(delete(BlockingKey).where(BlockingKey.patient_id == patient.id))
        return
    record = records_for(session, [patient.id])[patient.id]
    wanted = keys_for(record, patient.placeholder)
    have = set(session.scalars(select(BlockingKey.key).where(BlockingKey.patient_id == patient.id)))
    gone = have - wanted
    if gone:
        session.execute(
            delete(BlockingKey)
            .where(BlockingKey.patient_id == patient.id)
            .where(BlockingKey.key.in_(gone))
        )
    _insert_keys(session, patient.id, wanted - have)


_KEY_INSERT = insert(BlockingKey.__table__)  # type: ignore[arg-type]


def _insert_keys(session: Session, patient_id: int, keys: set[str]) -> None:
    """One executemany (Core, no RETURNING): the index rows are never read back as objects,
    and an ORM insert each was a measurable part of every new patient's cost."""
    if keys:
        rows = [{"key": k, "patient_id": patient_id} for k in sorted(keys)]
        session.connection().execute(_KEY_INSERT, rows)


def normal_postcode(text: str | None) -> str | None:
    return normalise_postcode(text) if text else None
