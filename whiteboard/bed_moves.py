"""Moving a stay in and out of beds, keeping bed states and occupancy intervals true.

A bed whose patient leaves needs cleaning (HL7 0116 "H"); a cancelled move leaves the bed as
it was before (free), because nobody really slept in it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from whiteboard.models import Bed, BedOccupancy, Clinician, ResponsibleClinician, Stay, Ward
from whiteboard.reports import observation_summary

log = logging.getLogger(__name__)


def current_occupancy(stay: Stay) -> BedOccupancy | None:
    for occ in reversed(stay.occupancies):
        if occ.ended_at is None:
            return occ
    return None


def place(session: Session, stay: Stay, ward: Ward, bed: Bed | None, at: datetime) -> None:
    """Put the stay on ``ward`` (in ``bed`` if given), starting a new occupancy interval."""
    if bed is not None:
        _evict_other_occupant(session, stay, bed, at)
        bed.set_status("O", at)
    stay.ward = ward
    stay.bed = bed
    occ = BedOccupancy(
        ward_id=ward.id,
        bed_id=bed.id if bed else None,
        clinician_id=stay.clinician_id,
        started_at=at,
    )
    stay.occupancies.append(occ)


def open_stay(
    session: Session,
    *,
    patient_id: int,
    patient_class: str,
    visit_number: str | None,
    at: datetime,
    ward: Ward,
    bed: Bed | None,
    clinician: Clinician | None,
) -> int:
    """An admission's or registration's rows, returning the new stay's id: the stay (in
    ``bed`` if given), its first occupancy and its first responsible-clinician row.

    Core inserts, not ORM objects: nothing reads the new stay back as an object in the
    message that creates it, and the ORM flush of these three rows (with the stay's seven
    relationships to sort out) cost more than the inserts themselves; a later message that
    asks for the stay reads it from the database. The bed's other occupant is looked up and
    the bed marked occupied through the ORM, as ``place`` does. The observation summary is
    told of the new occupancy here, as its flush listener would have been.
    """
    if bed is not None:
        _evict_other_occupant(session, None, bed, at)
        bed.set_status("O", at)
    if clinician is not None and clinician.id is None:
        session.flush()  # a clinician first seen in this message: its id goes on the rows
    clinician_id = clinician.id if clinician is not None else None
    bed_id = bed.id if bed is not None else None
    conn = session.connection()
    stay_id: int = conn.execute(
        _STAY_INSERT,
        {
            "patient_id": patient_id,
            "visit_number": visit_number,
            "patient_class": patient_class,
            "ward_id": ward.id,
            "bed_id": bed_id,
            "clinician_id": clinician_id,
            "admitted_at": at,
        },
    ).inserted_primary_key[0]
    conn.execute(
        _OCCUPANCY_INSERT,
        {
            "stay_id": stay_id,
            "ward_id": ward.id,
            "bed_id": bed_id,
            "clinician_id": clinician_id,
            "started_at": at,
        },
    )
    if clinician_id is not None:
        conn.execute(
            _RESPONSIBLE_INSERT,
            {"stay_id": stay_id, "clinician_id": clinician_id, "from_time": at},
        )
    observation_summary.mark_changed(session, (stay_id,))
    return stay_id


_STAY_INSERT = insert(Stay.__table__)  # type: ignore[arg-type]
_OCCUPANCY_INSERT = insert(BedOccupancy.__table__)  # type: ignore[arg-type]
_RESPONSIBLE_INSERT = insert(ResponsibleClinician.__table__)  # type: ignore[arg-type]


def vacate(stay: Stay, at: datetime, *, bed_status: str = "H") -> None:
    """End the stay's current occupancy; its bed is left needing cleaning."""
    # Both read before anything changes: a lazy load after the first change would autoflush
    # it (an extra flush per discharge, with the savepoint's own to follow).
    bed = stay.bed
    occ = current_occupancy(stay)
    if occ is not None:
        occ.ended_at = max(at, occ.started_at)
    if bed is not None:
        bed.set_status(bed_status, at)
    stay.bed = None


def undo_current(session: Session, stay: Stay, at: datetime) -> BedOccupancy | None:
    """Remove the current occupancy as if it never happened; return the one before it."""
    occ = current_occupancy(stay)
    if occ is not None:
        stay.occupancies.remove(occ)
        session.delete(occ)
    if stay.bed is not None:
        stay.bed.set_status("U", at)
        stay.bed = None
    return stay.occupancies[-1] if stay.occupancies else None


def resume(session: Session, stay: Stay, occ: BedOccupancy, at: datetime) -> None:
    """Reopen an ended occupancy (a cancelled discharge or transfer), keeping the bed if free."""
    occ.ended_at = None
    stay.ward = session.get_one(Ward, occ.ward_id)
    bed = session.get(Bed, occ.bed_id) if occ.bed_id is not None else None
    if bed is not None and _occupant(session, bed, exclude=stay) is None:
        bed.set_status("O", at)
        stay.bed = bed
    else:
        stay.bed = None
        occ.bed_id = None


def _occupant(session: Session, bed: Bed, exclude: Stay | None) -> Stay | None:
    query = select(Stay).where(Stay.bed_id == bed.id).where(Stay.state == "active")
    if exclude is not None:
        query = query.where(Stay.id != exclude.id)
    return session.scalars(query).first()


def _evict_other_occupant(session: Session, stay: Stay | None, bed: Bed, at: datetime) -> None:
    """Two patients in one bed means a discharge or transfer we have not been told about yet.

    Keep the other patient on their ward without a bed rather than losing them from the board.
    """
    other = _occupant(session, bed, exclude=stay)
    if other is None:
        return
    log.warning(
        "bed %s given to stay %s while stay %s still held it",
        bed.code,
        stay.id if stay is not None else "(new)",
        other.id,
    )
    occ = current_occupancy(other)
    if occ is not None:
        occ.ended_at = max(at, occ.started_at)
    other.bed = None
    other.occupancies.append(
        BedOccupancy(
            ward_id=other.ward_id, bed_id=None, clinician_id=other.clinician_id, started_at=at
        )
    )
