"""Reading the nurse allocation: one ward's shift for the form and API, and every ward's
bays and beds to nurse for the workload view (one statement each, whatever the ward count)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from whiteboard.auth.models import StaffUser
from whiteboard.auth.roles import NURSE
from whiteboard.models import Bay, Bed, NurseAllocation, NurseShiftAllocation, Ward
from whiteboard.shifts import Shift


@dataclass(frozen=True)
class Nurse:
    username: str
    name: str

    def to_dict(self) -> dict[str, str]:
        return {"username": self.username, "name": self.name}


@dataclass
class WardNurses:
    """Who has which bay and bed on one ward this shift: a bed's own nurse wins over its bay's
    (a side room or a one-to-one patient given to someone else)."""

    by_bay: dict[str, Nurse] = field(default_factory=dict)
    by_bed: dict[str, Nurse] = field(default_factory=dict)

    def nurse_for(self, bay: str | None, bed: str | None) -> Nurse | None:
        if bed is not None and bed in self.by_bed:
            return self.by_bed[bed]
        if bay is not None:
            return self.by_bay.get(bay)
        return None


def _name(user_name: str, display: str) -> str:
    return display or user_name


def nurses_on_shift(session: Session, shift: Shift) -> dict[str, WardNurses]:
    """Every ward's allocation for ``shift``, keyed by ward code."""
    nurse = aliased(StaffUser)
    rows = session.execute(
        select(Ward.code, Bay.code, Bed.code, nurse.username, nurse.display_name)
        .select_from(NurseAllocation)
        .join(NurseShiftAllocation, NurseShiftAllocation.id == NurseAllocation.allocation_id)
        .join(Ward, Ward.id == NurseShiftAllocation.ward_id)
        .join(nurse, nurse.id == NurseAllocation.nurse_id)
        .outerjoin(Bay, Bay.id == NurseAllocation.bay_id)
        .outerjoin(Bed, Bed.id == NurseAllocation.bed_id)
        .where(NurseShiftAllocation.shift_date == shift.date)
        .where(NurseShiftAllocation.shift == shift.name)
    ).all()
    out: dict[str, WardNurses] = {}
    for ward, bay, bed, username, display in rows:
        entry = out.setdefault(ward, WardNurses())
        who = Nurse(username, _name(username, display))
        if bed is not None:
            entry.by_bed[bed] = who
        elif bay is not None:
            entry.by_bay[bay] = who
    return out


def ward_allocation(session: Session, ward: Ward, shift: Shift) -> dict[str, Any]:
    """One ward's allocation for ``shift`` as the API and the form show it."""
    head = session.scalars(
        select(NurseShiftAllocation).where(
            NurseShiftAllocation.ward_id == ward.id,
            NurseShiftAllocation.shift_date == shift.date,
            NurseShiftAllocation.shift == shift.name,
        )
    ).first()
    body: dict[str, Any] = {
        "ward": ward.code,
        **shift.to_dict(),
        "nurse_in_charge": None,
        "set_by": None,
        "set_at": None,
        "nurses": [],
        "unallocated_bays": [b.code for b in ward.bays],
    }
    if head is None:
        return body
    users = {
        u.id: u
        for u in session.scalars(
            select(StaffUser).where(
                StaffUser.id.in_(
                    {r.nurse_id for r in head.rows}
                    | ({head.nurse_in_charge_id} if head.nurse_in_charge_id else set())
                )
            )
        )
    }
    bays = {b.id: b.code for b in ward.bays}
    beds = {b.id: b for b in ward.beds}
    nurses: dict[int, dict[str, Any]] = {}
    covered_bays: set[str] = set()
    for row in head.rows:
        user = users[row.nurse_id]
        entry = nurses.setdefault(
            row.nurse_id,
            {
                "nurse": user.username,
                "name": _name(user.username, user.display_name),
                "bays": [],
                "beds": [],
            },
        )
        if row.bay_id is not None:
            entry["bays"].append(bays[row.bay_id])
            covered_bays.add(bays[row.bay_id])
        elif row.bed_id is not None:
            entry["beds"].append(beds[row.bed_id].code)
    in_charge = users.get(head.nurse_in_charge_id) if head.nurse_in_charge_id else None
    body.update(
        nurse_in_charge=None
        if in_charge is None
        else Nurse(in_charge.username, _name(in_charge.username, in_charge.display_name)).to_dict(),
        set_by=head.set_by,
        set_at=head.set_at.isoformat(),
        nurses=list(nurses.values()),
        unallocated_bays=[b.code for b in ward.bays if b.code not in covered_bays],
    )
    return body


def active_nurses(session: Session) -> list[Nurse]:
    """The nurses the form offers, by name."""
    users = session.scalars(
        select(StaffUser)
        .where(StaffUser.role == NURSE, StaffUser.active.is_(True))
        .order_by(StaffUser.display_name, StaffUser.username)
    )
    return [Nurse(u.username, _name(u.username, u.display_name)) for u in users]
