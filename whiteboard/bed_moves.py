"""Moving a stay in and out of beds, keeping bed states and occupancy intervals true.

A bed whose patient leaves needs cleaning (HL7 0116 "H"); a cancelled move leaves the bed as
it was before (free), because nobody really slept in it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from whiteboard.models import Bed, BedOccupancy, Stay, Ward

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


def start(session: Session, stay: Stay, ward: Ward, bed: Bed | None, at: datetime) -> None:
    """``place`` for a stay not yet in the session (an admission or registration).

    The same rows as ``place``, written in one flush: the bed's other occupant is looked up
    before the new stay exists, and the stay goes in with its ward, bed and first occupancy
    already set (``place`` on a new stay costs an INSERT, an UPDATE of the stay's bed and a
    read of its empty occupancy list). The occupancy carries the stay's clinician.
    """
    if bed is not None:
        _evict_other_occupant(session, None, bed, at)
        bed.set_status("O", at)
    clinician = stay.clinician
    if clinician is not None and clinician.id is None:
        session.flush()  # a clinician first seen in this message: its id goes on the interval
    stay.ward = ward
    stay.bed = bed
    stay.occupancies = [
        BedOccupancy(
            ward_id=ward.id,
            bed_id=bed.id if bed else None,
            clinician_id=clinician.id if clinician is not None else None,
            started_at=at,
        )
    ]
    session.add(stay)


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
