"""Merge and unmerge: the one place that folds one patient into another, and undoes it.

A merge supersedes with a redirect: the merged record stays, pointing at the survivor
(``merged_into_id``), so its old numbers still resolve. Its identifiers, stays (and anything
else registered in ``FOLLOWERS``), name and address history move to the survivor, and
``MergeRecord`` keeps the ids of every row moved and both records' values before the merge, so
that an unmerge puts both back exactly. Rows added to the survivor after the merge stay with it.

The HL7 A40 translator and the clerks' page both reach ``merge_patients`` through the
``MergePatients`` command.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Column, select, update
from sqlalchemy.orm import Session

from mpi import audit
from mpi.history import PatientAddress, PatientName
from mpi.merge_record import MergeRecord
from mpi.models import Patient, PatientIdentifier
from mpi.records import refresh_keys
from mpi.resolve import IDENTITY_FIELDS
from mpi.review import OPEN_STATES, ReviewPair
from whiteboard.errors import InvalidCommand, RecordError
from whiteboard.models import GpSynopsis, OutpatientBooking, Stay
from whiteboard.models.orders import Order, Result

# Fields a clerk can choose between, and that an unmerge restores.
MERGE_FIELDS = (
    "nhs_number",
    "family_name",
    "given_names",
    "title",
    "date_of_birth",
    "sex",
    "address",
    "postcode",
    "gp_practice_code",
    "placeholder",
    "dob_placeholder",
)

# Every table whose rows belong to a patient and must follow a merge; a new patient-level
# table registers itself with ``register_follower(Table.__table__.c.patient_id)``.
FOLLOWERS: list[Column[Any]] = [
    Stay.__table__.c.patient_id,  # type: ignore[attr-defined]
    PatientName.__table__.c.patient_id,  # type: ignore[attr-defined]
    PatientAddress.__table__.c.patient_id,  # type: ignore[attr-defined]
]


class MergeRefused(RecordError):
    hl7_code = "207"


def register_follower(column: Column[Any]) -> None:
    if column not in FOLLOWERS:
        FOLLOWERS.append(column)


# The clinical record's own patient-level tables (its other tables hang off a stay, which
# moves): outpatient bookings, orders and results (a GP may send them before any stay), and
# each practice's synopsis (the newest per practice is the one shown).
for _table in (OutpatientBooking, Order, Result, GpSynopsis):
    register_follower(_table.__table__.c.patient_id)  # type: ignore[attr-defined]


def _snapshot(p: Patient) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in MERGE_FIELDS:
        value = getattr(p, name)
        out[name] = value.isoformat() if isinstance(value, date) else value
    return out


def _restore(p: Patient, snap: dict[str, Any]) -> None:
    for name in MERGE_FIELDS:
        value = snap.get(name)
        if name == "date_of_birth" and value is not None:
            value = date.fromisoformat(value)
        setattr(p, name, value)


def active_wards(session: Session, *patient_ids: int) -> tuple[str, ...]:
    from whiteboard.models import Ward

    rows = session.scalars(
        select(Ward.code)
        .join(Stay, Stay.ward_id == Ward.id)
        .where(Stay.patient_id.in_(patient_ids))
        .where(Stay.state == "active")
    ).all()
    return tuple(dict.fromkeys(rows))


def merge_patients(
    session: Session,
    survivor_id: int,
    merged_id: int,
    *,
    take_from_merged: tuple[str, ...] = (),
    actor: str = "",
    reason: str = "",
    review_pair_id: int | None = None,
) -> tuple[MergeRecord, tuple[str, ...]]:
    """Fold one patient into another; returns the merge record and the fields that changed."""
    if survivor_id == merged_id:
        raise InvalidCommand("a patient cannot be merged into itself")
    survivor = session.get(Patient, survivor_id)
    merged = session.get(Patient, merged_id)
    if survivor is None or merged is None:
        raise InvalidCommand(f"no patient {survivor_id if survivor is None else merged_id}")
    if survivor.merged_into_id is not None:
        raise MergeRefused(f"patient {survivor_id} was itself merged into another record")
    if merged.merged_into_id is not None:
        raise MergeRefused(f"patient {merged_id} is already merged")
    unknown = set(take_from_merged) - set(MERGE_FIELDS)
    if unknown:
        raise InvalidCommand(f"unknown fields to take: {', '.join(sorted(unknown))}")
    before = {"survivor": _snapshot(survivor), "merged": _snapshot(merged)}
    moved: dict[str, Any] = {}
    idents = session.scalars(
        select(PatientIdentifier).where(PatientIdentifier.patient_id == merged.id)
    ).all()
    moved["identifiers"] = [[i.id, i.link_source] for i in idents]
    for ident in idents:
        ident.patient_id = survivor.id
        ident.link_source = "merge"
    for column in FOLLOWERS:
        ids = session.scalars(
            select(column.table.c.id).where(column == merged.id)  # type: ignore[attr-defined]
        ).all()
        moved[f"{column.table.name}.{column.name}"] = list(ids)
        if ids:
            session.execute(
                update(column.table)
                .where(column.table.c.id.in_(ids))  # type: ignore[attr-defined]
                .values({column.name: survivor.id})
            )
    added: list[list[Any]] = []
    # The merged record's own name and address stay searchable on the survivor.
    if merged.family_name and merged.family_name != survivor.family_name:
        row = PatientName(
            patient_id=survivor.id,
            family_name=merged.family_name,
            given_names=merged.given_names,
            source="merge",
        )
        session.add(row)
        session.flush()
        added.append(["mpi_patient_name", row.id])
    if merged.postcode and merged.postcode != survivor.postcode:
        arow = PatientAddress(
            patient_id=survivor.id, address=merged.address, postcode=merged.postcode, source="merge"
        )
        session.add(arow)
        session.flush()
        added.append(["mpi_patient_address", arow.id])
    changed: list[str] = []
    for name in MERGE_FIELDS:
        mine, theirs = getattr(survivor, name), getattr(merged, name)
        take = name in take_from_merged or (
            mine in (None, "") and theirs not in (None, "") and name not in ("placeholder",)
        )
        if take and mine != theirs:
            setattr(survivor, name, theirs)
            changed.append(name)
    if merged.placeholder is False and survivor.placeholder and "placeholder" not in changed:
        survivor.placeholder = False
        changed.append("placeholder")
    moved["added"] = added
    pairs = session.scalars(
        select(ReviewPair)
        .where((ReviewPair.patient_a_id == merged.id) | (ReviewPair.patient_b_id == merged.id))
        .where(ReviewPair.state.in_(OPEN_STATES))
    ).all()
    moved["review_pairs"] = [[p.id, p.state] for p in pairs]
    for pair in pairs:
        pair.state = "merged" if pair.id == review_pair_id else "superseded"
        pair.decided_by = actor
    merged.merged_into_id = survivor.id
    record = MergeRecord(
        survivor_id=survivor.id,
        merged_id=merged.id,
        merged_by=actor,
        reason=reason,
        before=before,
        moved=moved,
    )
    session.add(record)
    session.flush()
    refresh_keys(session, merged)
    refresh_keys(session, survivor)
    audit.record(
        session,
        "merge",
        survivor.id,
        other=merged.id,
        actor=actor,
        merge_id=record.id,
        reason=reason,
        took=list(take_from_merged),
    )
    return record, tuple(changed)


def unmerge(session: Session, merge_id: int, *, actor: str = "") -> MergeRecord:
    """Put both records back exactly as they were before the merge."""
    record = session.get(MergeRecord, merge_id)
    if record is None:
        raise InvalidCommand(f"no merge {merge_id}")
    if record.unmerged_at is not None:
        raise MergeRefused(f"merge {merge_id} was already undone")
    survivor = session.get_one(Patient, record.survivor_id)
    merged = session.get_one(Patient, record.merged_id)
    if merged.merged_into_id != survivor.id or survivor.merged_into_id is not None:
        raise MergeRefused(
            f"merge {merge_id} cannot be undone: a later merge involves these records; "
            "undo that first"
        )
    moved = record.moved
    for ident_id, link_source in moved.get("identifiers", []):
        ident = session.get(PatientIdentifier, ident_id)
        if ident is not None and ident.patient_id == survivor.id:
            ident.patient_id = merged.id
            ident.link_source = link_source
    for table_name, row_id in moved.get("added", []):
        model = {"mpi_patient_name": PatientName, "mpi_patient_address": PatientAddress}[table_name]
        row = session.get(model, row_id)
        if row is not None:
            session.delete(row)
    session.flush()
    for column in FOLLOWERS:
        ids = moved.get(f"{column.table.name}.{column.name}", [])
        if ids:
            session.execute(
                update(column.table)
                .where(column.table.c.id.in_(ids))  # type: ignore[attr-defined]
                .where(column == survivor.id)
                .values({column.name: merged.id})
            )
    for pair_id, state in moved.get("review_pairs", []):
        pair = session.get(ReviewPair, pair_id)
        if pair is not None:
            pair.state = state
            pair.decided_by = None
            pair.decided_at = None
    _restore(survivor, record.before["survivor"])
    _restore(merged, record.before["merged"])
    merged.merged_into_id = None
    from config.db import utcnow

    record.unmerged_at = utcnow()
    record.unmerged_by = actor
    session.flush()
    session.expire_all()
    refresh_keys(session, session.get_one(Patient, merged.id))
    refresh_keys(session, session.get_one(Patient, survivor.id))
    audit.record(
        session,
        "unmerge",
        record.survivor_id,
        other=record.merged_id,
        actor=actor,
        merge_id=record.id,
    )
    return record


def identity_changes(fields: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f for f in fields if f in IDENTITY_FIELDS)


def unlink_identifier(
    session: Session, identifier_id: int, *, stay_ids: tuple[int, ...] = (), actor: str = ""
) -> tuple[Patient, Patient]:
    """Detach one local identifier into a new patient; returns (old owner, new patient).

    The new patient starts with the old owner's demographics (what was known when the link was
    made is not kept per identifier): the clerk corrects them, and the next message on that
    number brings the sender's values.
    """
    ident = session.get(PatientIdentifier, identifier_id)
    if ident is None:
        raise InvalidCommand(f"no identifier {identifier_id}")
    owner = session.get_one(Patient, ident.patient_id)
    if owner.merged_into_id is not None:
        raise MergeRefused(f"identifier {identifier_id} belongs to a merged record: unmerge it")
    if len(owner.identifiers) < 2:
        raise InvalidCommand(f"identifier {identifier_id} is the patient's only identifier")
    stays = [session.get(Stay, sid) for sid in stay_ids]
    if any(st is None or st.patient_id != owner.id for st in stays):
        raise InvalidCommand("every stay to move must belong to the identifier's patient")
    new = Patient(identifiers=[], **{k: getattr(owner, k) for k in MERGE_FIELDS})
    session.add(new)
    session.flush()
    ident.patient_id = new.id
    ident.link_source = "manual"
    ident.link_score = None
    for st in stays:
        st.patient_id = new.id  # type: ignore[union-attr]
    session.flush()
    session.expire(owner, ["identifiers"])
    refresh_keys(session, new)
    audit.record(
        session,
        "unlink",
        owner.id,
        other=new.id,
        actor=actor,
        identifier_id=identifier_id,
        authority=ident.authority,
        value=ident.value,
        stays=list(stay_ids),
    )
    return owner, new
