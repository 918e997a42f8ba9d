"""The nurse allocation handler: a plain function of (command, unit of work, shift times).

The nurse in charge allocates the shift's nurses to bays or single beds. Setting a shift's
allocation replaces it whole (the form and the API always send the full allocation), so two
people correcting it in turn never leave a mixture. Refused (``InvalidCommand``, naming what is
wrong): a name that is not an active nurse, a bay or bed not on the ward, a bay or bed given to
two nurses, a nurse listed twice, or a shift that has already ended (the record of a past
shift is not rewritten).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.unit_of_work import UnitOfWork
from whiteboard import clinical_commands as cc
from whiteboard import events
from whiteboard.auth.models import StaffUser
from whiteboard.auth.roles import NURSE
from whiteboard.errors import InvalidCommand, UnknownLocation
from whiteboard.models import Bay, Bed, NurseAllocation, NurseShiftAllocation, Ward
from whiteboard.models.allocation import SHIFTS
from whiteboard.shifts import ShiftTimes, shift_of


def _nurse(session: Session, username: str, what: str) -> StaffUser:
    user = session.scalars(select(StaffUser).where(StaffUser.username == username)).first()
    if user is None or not user.active or user.role != NURSE:
        raise InvalidCommand(f"{what} {username!r} is not an active nurse's username")
    return user


def set_nurse_allocation(cmd: cc.SetNurseAllocation, uow: UnitOfWork, times: ShiftTimes) -> int:
    s = uow.session
    if cmd.shift not in SHIFTS:
        raise InvalidCommand(f"shift must be one of {', '.join(SHIFTS)}")
    ward = s.scalars(select(Ward).where(Ward.code == cmd.ward)).first()
    if ward is None:
        raise UnknownLocation(f"unknown ward {cmd.ward!r}")
    shift = shift_of(cmd.shift_date, cmd.shift, times)
    if shift.ends_at <= cmd.occurred_at:
        raise InvalidCommand(f"the {shift.label} has ended; set the current or a later shift")
    bays = {b.code: b for b in s.scalars(select(Bay).where(Bay.ward_id == ward.id))}
    beds = {b.code: b for b in s.scalars(select(Bed).where(Bed.ward_id == ward.id))}
    in_charge = _nurse(s, cmd.nurse_in_charge, "nurse in charge") if cmd.nurse_in_charge else None

    rows: list[NurseAllocation] = []
    seen_nurses: set[str] = set()
    given: dict[tuple[str, str], str] = {}
    for a in cmd.assignments:
        if a.nurse in seen_nurses:
            raise InvalidCommand(f"nurse {a.nurse!r} is listed twice; list each nurse once")
        seen_nurses.add(a.nurse)
        nurse = _nurse(s, a.nurse, "nurse")
        if not a.bays and not a.beds:
            raise InvalidCommand(f"nurse {a.nurse!r} has no bays or beds")
        for kind, codes, known in (("bay", a.bays, bays), ("bed", a.beds, beds)):
            for code in codes:
                if code not in known:
                    raise InvalidCommand(f"{ward.code} has no {kind} {code!r}")
                other = given.setdefault((kind, code), a.nurse)
                if other != a.nurse:
                    raise InvalidCommand(f"{kind} {code} is given to both {other} and {a.nurse}")
                rows.append(
                    NurseAllocation(
                        nurse_id=nurse.id,
                        bay_id=known[code].id if kind == "bay" else None,
                        bed_id=known[code].id if kind == "bed" else None,
                    )
                )

    allocation = s.scalars(
        select(NurseShiftAllocation).where(
            NurseShiftAllocation.ward_id == ward.id,
            NurseShiftAllocation.shift_date == cmd.shift_date,
            NurseShiftAllocation.shift == cmd.shift,
        )
    ).first()
    if allocation is None:
        allocation = NurseShiftAllocation(
            ward_id=ward.id, shift_date=cmd.shift_date, shift=cmd.shift
        )
        s.add(allocation)
    allocation.nurse_in_charge_id = in_charge.id if in_charge else None
    allocation.set_by = cmd.actor[:64]
    allocation.set_at = cmd.occurred_at
    allocation.rows.clear()
    s.flush()  # the old rows go before the new ones arrive
    allocation.rows.extend(rows)
    s.flush()
    uow.add_event(
        events.NurseAllocationSet(ward.code, cmd.shift_date.isoformat(), cmd.shift, allocation.id)
    )
    return allocation.id


def bind_shift_times(times: ShiftTimes) -> dict[type, Callable[[Any, UnitOfWork], Any]]:
    """The allocation handler as a (command, uow) function for the message bus."""

    def handle(cmd: cc.SetNurseAllocation, uow: UnitOfWork) -> int:
        return set_nurse_allocation(cmd, uow, times)

    handle.__name__ = set_nurse_allocation.__name__
    return {cc.SetNurseAllocation: handle}
