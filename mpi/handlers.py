"""Command handlers for the index: merge, unmerge and the clerks' queue decisions."""

from __future__ import annotations

from sqlalchemy import select

from config.db import utcnow
from config.unit_of_work import UnitOfWork
from mpi import audit
from mpi import commands as cmds
from mpi.events import PatientDetailsCorrected, PatientsMerged, PatientsUnmerged
from mpi.merge import active_wards, identity_changes, merge_patients, unlink_identifier, unmerge
from mpi.review import OPEN_STATES, ReviewPair
from whiteboard.errors import InvalidCommand


def handle_merge(cmd: cmds.MergePatients, uow: UnitOfWork) -> int:
    if cmd.review_pair_id is not None:
        pair = _open_pair(uow, cmd.review_pair_id)
        if {pair.patient_a_id, pair.patient_b_id} != {cmd.survivor_id, cmd.merged_id}:
            raise InvalidCommand(f"review pair {pair.id} is not about these two patients")
        pair.decided_at = cmd.occurred_at
    return merge_and_announce(
        uow,
        cmd.survivor_id,
        cmd.merged_id,
        take_from_merged=cmd.take_from_merged,
        actor=cmd.actor or cmd.source,
        reason=cmd.reason,
        review_pair_id=cmd.review_pair_id,
    )


def merge_and_announce(
    uow: UnitOfWork,
    survivor_id: int,
    merged_id: int,
    *,
    take_from_merged: tuple[str, ...] = (),
    actor: str = "",
    reason: str = "",
    review_pair_id: int | None = None,
) -> int:
    """Merge and tell boards and downstream systems; a clerk's merge and an HL7 A40 both
    come through here, so both can be unmerged and both are sent on as A40."""
    s = uow.session
    record, changed = merge_patients(
        s,
        survivor_id,
        merged_id,
        take_from_merged=take_from_merged,
        actor=actor,
        reason=reason,
        review_pair_id=review_pair_id,
    )
    wards = active_wards(s, survivor_id)
    uow.add_event(PatientsMerged(record.id, survivor_id, merged_id, wards))
    corrected = identity_changes(changed)
    if corrected:
        uow.add_event(PatientDetailsCorrected(survivor_id, corrected, wards))
    return record.id


def handle_unmerge(cmd: cmds.UnmergePatients, uow: UnitOfWork) -> int:
    s = uow.session
    record = unmerge(s, cmd.merge_id, actor=cmd.actor or cmd.source)
    wards = active_wards(s, record.survivor_id, record.merged_id)
    uow.add_event(PatientsUnmerged(record.id, record.survivor_id, record.merged_id, wards))
    return record.id


def handle_unlink(cmd: cmds.UnlinkIdentifier, uow: UnitOfWork) -> int:
    s = uow.session
    owner, new = unlink_identifier(
        s, cmd.identifier_id, stay_ids=cmd.stay_ids, actor=cmd.actor or cmd.source
    )
    wards = active_wards(s, owner.id, new.id)
    uow.add_event(PatientDetailsCorrected(new.id, ("identifiers",), wards))
    return new.id


def handle_not_duplicate(cmd: cmds.MarkNotDuplicate, uow: UnitOfWork) -> int:
    pair = _open_pair(uow, cmd.review_pair_id)
    pair.state = "not_duplicate"
    pair.decided_at = cmd.occurred_at
    pair.decided_by = cmd.actor
    audit.record(
        uow.session,
        "not_duplicate",
        pair.patient_a_id,
        other=pair.patient_b_id,
        actor=cmd.actor,
        review_pair_id=pair.id,
    )
    return pair.id


def handle_defer(cmd: cmds.DeferReviewPair, uow: UnitOfWork) -> int:
    pair = _open_pair(uow, cmd.review_pair_id)
    pair.state = "deferred"
    pair.decided_by = cmd.actor
    pair.decided_at = utcnow()
    return pair.id


def _open_pair(uow: UnitOfWork, pair_id: int) -> ReviewPair:
    pair = uow.session.scalar(select(ReviewPair).where(ReviewPair.id == pair_id))
    if pair is None:
        raise InvalidCommand(f"no review pair {pair_id}")
    if pair.state not in OPEN_STATES:
        raise InvalidCommand(f"review pair {pair_id} was already decided ({pair.state})")
    return pair


MPI_COMMAND_HANDLERS = {
    cmds.MergePatients: handle_merge,
    cmds.UnmergePatients: handle_unmerge,
    cmds.UnlinkIdentifier: handle_unlink,
    cmds.MarkNotDuplicate: handle_not_duplicate,
    cmds.DeferReviewPair: handle_defer,
}
