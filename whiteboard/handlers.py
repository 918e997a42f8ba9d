"""Command handlers for admissions, transfers, discharges and their cancellations.

Plain functions of (command, unit of work). They are deliberately forgiving about the order
real hospital systems send things in (a transfer for a stay we never saw admitted creates it)
because losing a patient from the board is worse than a late correction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import Session

from config.unit_of_work import UnitOfWork
from mpi.events import PatientDetailsCorrected
from mpi.handlers import merge_and_announce
from mpi.identity import resolve_identity
from mpi.models import Patient, PatientIdentifier
from mpi.resolve import IDENTITY_FIELDS
from whiteboard import bed_moves, events
from whiteboard import commands as cmds
from whiteboard.clinical_handlers import note_responsible
from whiteboard.errors import InvalidCommand, NoSuchStay, UnknownLocation, UnknownPatient
from whiteboard.models import Bed, Clinician, Stay, Ward

_T = TypeVar("_T")


def admit_patient(cmd: cmds.AdmitPatient, uow: UnitOfWork) -> int:
    s = uow.session
    resolution = resolve_identity(s, cmd.patient)
    patient = resolution.patient
    ward, bed = _location(uow, cmd.visit)
    at = cmd.visit.admitted_at or cmd.occurred_at
    # A patient created just now has no stays: nothing to look up.
    current = [] if resolution.created else _active_stays(s, patient, classes=("I", "E"))
    stay = _pick_stay([st for st in current if st.patient_class == "I"], cmd.visit)
    # An admission ends the A&E attendance it comes from, whichever stay it lands in.
    for attendance in [st for st in current if st.patient_class == "E"]:
        if stay is None or attendance.admitted_at <= at:
            _end_attendance(uow, attendance, at)
    if stay is not None:
        # A repeated admission for the same stay: treat it as "this is where they are now".
        return _move(uow, stay, ward, bed, cmd.visit, at)
    stay_id = bed_moves.open_stay(
        s,
        patient_id=patient.id,
        patient_class="I",
        visit_number=cmd.visit.visit_number,
        at=at,
        ward=ward,
        bed=bed,
        clinician=_clinician(uow, cmd.visit.clinician),
    )
    uow.add_event(events.PatientAdmitted(stay_id, patient.id, ward.code))
    return stay_id


def register_patient(cmd: cmds.RegisterPatient, uow: UnitOfWork) -> int:
    s = uow.session
    patient_class = cmd.visit.patient_class if cmd.visit.patient_class in ("E", "O") else "E"
    # Registration searches the index before it creates; an A&E record is re-checked by the
    # 24-hour sweep because details given at the front desk are often incomplete.
    origin = "AE" if patient_class == "E" else "OP"
    resolution = resolve_identity(s, cmd.patient, origin=origin, source="registration")
    patient = resolution.patient
    ward, bed = _location(uow, cmd.visit)
    at = cmd.visit.admitted_at or cmd.occurred_at
    stay = (
        None
        if resolution.created
        else _active_stay(s, patient, cmd.visit, classes=(patient_class,))
    )
    if stay is not None:
        return _move(uow, stay, ward, bed, cmd.visit, at)
    stay_id = bed_moves.open_stay(
        s,
        patient_id=patient.id,
        patient_class=patient_class,
        visit_number=cmd.visit.visit_number,
        at=at,
        ward=ward,
        bed=bed,
        clinician=_clinician(uow, cmd.visit.clinician),
    )
    uow.add_event(events.PatientRegistered(stay_id, patient.id, ward.code))
    return stay_id


def transfer_patient(cmd: cmds.TransferPatient, uow: UnitOfWork) -> int:
    s = uow.session
    patient = resolve_identity(s, cmd.patient).patient
    ward, bed = _location(uow, cmd.visit)
    stay = _active_stay(s, patient, cmd.visit, classes=("I", "E", "O"))
    if stay is None:
        admit = cmds.AdmitPatient(cmd.occurred_at, cmd.patient, cmd.visit, source=cmd.source)
        return admit_patient(admit, uow)
    return _move(uow, stay, ward, bed, cmd.visit, cmd.occurred_at)


def discharge_patient(cmd: cmds.DischargePatient, uow: UnitOfWork) -> int:
    s = uow.session
    patient = resolve_identity(s, cmd.patient).patient
    stay = _active_stay(s, patient, cmd.visit, classes=("I", "E", "O"))
    if stay is None:
        done = _latest_stay(s, patient, cmd.visit, state="discharged")
        if done is not None:
            return done.id  # already discharged: nothing more to do
        raise NoSuchStay(f"no current stay to discharge for patient {_who(cmd.patient)}")
    at = cmd.visit.discharged_at or cmd.occurred_at
    ward_code = stay.ward.code
    bed_moves.vacate(stay, at)
    stay.state = "discharged"
    stay.discharged_at = at
    uow.add_event(events.PatientDischarged(stay.id, patient.id, ward_code))
    return stay.id


def update_patient_information(cmd: cmds.UpdatePatientInformation, uow: UnitOfWork) -> int:
    s = uow.session
    resolution = resolve_identity(s, cmd.patient)
    patient = resolution.patient
    stays = [] if resolution.created else _active_stays(s, patient, classes=("I", "E", "O"))
    changed = bool(resolution.changed_fields)
    if cmd.visit is not None and cmd.visit.clinician is not None:
        stay = _pick_stay(stays, cmd.visit)
        clinician = _clinician(uow, cmd.visit.clinician)
        if stay is not None and stay.clinician_id != (clinician.id if clinician else None):
            stay.clinician = clinician
            note_responsible(s, stay, cmd.occurred_at)
            changed = True
    wards = tuple(st.ward.code for st in stays)
    if changed or resolution.created:
        uow.add_event(events.PatientDetailsChanged(patient.id, wards))
    corrected = tuple(f for f in resolution.changed_fields if f in IDENTITY_FIELDS)
    if corrected and not resolution.created:
        uow.add_event(PatientDetailsCorrected(patient.id, corrected, wards))
    return patient.id


def cancel_admission(cmd: cmds.CancelAdmission, uow: UnitOfWork) -> int:
    s = uow.session
    patient = resolve_identity(s, cmd.patient).patient
    stay = _active_stay(s, patient, cmd.visit, classes=("I", "E", "O"))
    if stay is None:
        cancelled = _latest_stay(s, patient, cmd.visit, state="cancelled")
        if cancelled is not None:
            return cancelled.id
        raise NoSuchStay(f"no current admission to cancel for patient {_who(cmd.patient)}")
    at = cmd.occurred_at
    ward_code = stay.ward.code
    while bed_moves.current_occupancy(stay) is not None:
        bed_moves.undo_current(s, stay, at)
    for occ in list(stay.occupancies):
        s.delete(occ)
    stay.state = "cancelled"
    stay.discharged_at = None
    uow.add_event(events.AdmissionCancelled(stay.id, patient.id, ward_code))
    _resume_attendance_ended_by(uow, stay, at)
    return stay.id


def cancel_transfer(cmd: cmds.CancelTransfer, uow: UnitOfWork) -> int:
    s = uow.session
    patient = resolve_identity(s, cmd.patient).patient
    stay = _active_stay(s, patient, cmd.visit, classes=("I", "E", "O"))
    if stay is None:
        raise NoSuchStay(f"no current stay whose transfer to cancel for {_who(cmd.patient)}")
    wrong_ward = stay.ward.code
    back_ward, back_bed = _location(uow, cmd.visit)
    previous = bed_moves.undo_current(s, stay, cmd.occurred_at)
    if (
        previous is not None
        and previous.ward_id == back_ward.id
        and (back_bed is None or previous.bed_id == back_bed.id)
    ):
        bed_moves.resume(s, stay, previous, cmd.occurred_at)
    else:
        bed_moves.place(s, stay, back_ward, back_bed, cmd.occurred_at)
    s.flush()
    uow.add_event(events.TransferCancelled(stay.id, patient.id, stay.ward.code, wrong_ward))
    return stay.id


def cancel_discharge(cmd: cmds.CancelDischarge, uow: UnitOfWork) -> int:
    s = uow.session
    patient = resolve_identity(s, cmd.patient).patient
    active = _active_stay(s, patient, cmd.visit, classes=("I", "E", "O"))
    if (
        active is not None
        and active.state == "active"
        and cmd.visit.visit_number
        in (
            None,
            active.visit_number,
        )
    ):
        return active.id  # already back: a repeated cancel
    stay = _latest_stay(s, patient, cmd.visit, state="discharged")
    if stay is None:
        raise NoSuchStay(f"no discharged stay to reinstate for patient {_who(cmd.patient)}")
    stay.state = "active"
    stay.discharged_at = None
    if stay.occupancies:
        bed_moves.resume(s, stay, stay.occupancies[-1], cmd.occurred_at)
    s.flush()
    uow.add_event(events.DischargeCancelled(stay.id, patient.id, stay.ward.code))
    return stay.id


def swap_beds(cmd: cmds.SwapBeds, uow: UnitOfWork) -> int:
    """A17: the two stays exchange ward and bed in one step, or nothing changes.

    Both patients must have a current stay; otherwise the command fails before anything is
    moved (and the unit of work rolls back anything identity resolution wrote).
    """
    s = uow.session
    first = resolve_identity(s, cmd.patient).patient
    second = resolve_identity(s, cmd.other_patient).patient
    if first.id == second.id:
        raise InvalidCommand(f"a bed swap names patient {_who(cmd.patient)} twice")
    one = _active_stay(s, first, cmd.visit, classes=("I", "E", "O"))
    if one is None:
        raise NoSuchStay(f"no current stay for the first patient {_who(cmd.patient)}; not swapped")
    other = _active_stay(s, second, cmd.other_visit, classes=("I", "E", "O"))
    if other is None:
        raise NoSuchStay(
            f"no current stay for the second patient {_who(cmd.other_patient)}; not swapped"
        )
    at = cmd.occurred_at
    one_ward, one_bed = one.ward, one.bed
    other_ward, other_bed = other.ward, other.bed
    if one_ward.id == other_ward.id and one.bed_id == other.bed_id:
        return one.id  # already where the swap puts them (a resend after a manual fix)
    # Each bed is taken straight away by the other patient: it stays occupied, no cleaning.
    bed_moves.vacate(one, at, bed_status="O")
    bed_moves.vacate(other, at, bed_status="O")
    s.flush()
    bed_moves.place(s, one, other_ward, other_bed, at)
    bed_moves.place(s, other, one_ward, one_bed, at)
    s.flush()
    uow.add_event(
        events.BedSwapped(one.id, one.patient_id, other_ward.code, one_ward.code, other.id)
    )
    uow.add_event(
        events.BedSwapped(other.id, other.patient_id, one_ward.code, other_ward.code, one.id)
    )
    return one.id


def start_leave(cmd: cmds.StartLeave, uow: UnitOfWork) -> int:
    """A21 (or A53): the patient is on leave of absence and keeps the bed."""
    s = uow.session
    patient = resolve_identity(s, cmd.patient).patient
    stay = _active_stay(s, patient, cmd.visit, classes=("I", "E", "O"))
    if stay is None:
        raise NoSuchStay(f"no current stay to go on leave from for patient {_who(cmd.patient)}")
    if cmd.resume:
        if stay.leave_started_at is None:
            raise NoSuchStay(f"patient {_who(cmd.patient)} has no leave whose return to cancel")
        if stay.leave_ended_at is None:
            return stay.id  # still on that leave: a repeated cancel
        stay.leave_ended_at = None
    elif stay.on_leave:
        return stay.id  # a repeated A21
    else:
        stay.leave_started_at = cmd.occurred_at
        stay.leave_ended_at = None
    s.flush()
    uow.add_event(events.LeaveStarted(stay.id, patient.id, stay.ward.code))
    return stay.id


def end_leave(cmd: cmds.EndLeave, uow: UnitOfWork) -> int:
    """A22 back from leave (the end time is kept), or A52 the leave cancelled (forgotten)."""
    s = uow.session
    patient = resolve_identity(s, cmd.patient).patient
    stay = _active_stay(s, patient, cmd.visit, classes=("I", "E", "O"))
    if stay is None:
        raise NoSuchStay(f"no current stay to return from leave for patient {_who(cmd.patient)}")
    if cmd.cancel:
        if stay.leave_started_at is None:
            return stay.id  # no leave to cancel: a repeat, or the A21 never reached us
        stay.leave_started_at = None
        stay.leave_ended_at = None
    elif not stay.on_leave:
        return stay.id  # already back (a repeat), or never recorded as away: nothing to change
    else:
        stay.leave_ended_at = max(cmd.occurred_at, stay.leave_started_at or cmd.occurred_at)
    s.flush()
    uow.add_event(events.LeaveEnded(stay.id, patient.id, stay.ward.code))
    return stay.id


def set_bed_status(cmd: cmds.SetBedStatus, uow: UnitOfWork) -> int:
    ward, bed = _location(uow, cmds.VisitDetails("I", cmd.location))
    if bed is None:
        raise UnknownLocation(f"no bed {cmd.location.bed!r} on ward {ward.code}")
    if cmd.status == "O" or bed.status == "O":
        # Occupancy follows patients (admissions, transfers, discharges), never a bed message.
        raise InvalidCommand(f"bed {bed.code} occupancy is set by patient moves, not directly")
    bed.set_status(cmd.status, cmd.occurred_at)
    uow.add_event(events.BedStatusChanged(ward.code, bed.code, cmd.status))
    return bed.id


# --- the pieces the handlers share -------------------------------------------------------


def _move(
    uow: UnitOfWork,
    stay: Stay,
    ward: Ward,
    bed: Bed | None,
    visit: cmds.VisitDetails,
    at: datetime,
) -> int:
    s = uow.session
    from_ward = stay.ward.code
    clinician = _clinician(uow, visit.clinician)
    if clinician is not None:
        stay.clinician = clinician
        note_responsible(s, stay, at)
    if stay.ward_id == ward.id and (bed is None or stay.bed_id == bed.id):
        s.flush()
        uow.add_event(events.PatientDetailsChanged(stay.patient_id, (ward.code,)))
        return stay.id
    bed_moves.vacate(stay, at)
    bed_moves.place(s, stay, ward, bed, at)
    s.flush()
    uow.add_event(events.PatientTransferred(stay.id, stay.patient_id, ward.code, from_ward))
    return stay.id


def _end_attendance(uow: UnitOfWork, attendance: Stay, at: datetime) -> None:
    """Admission stops the A&E clock: the attendance ends when the admission starts."""
    ward_code = attendance.ward.code
    bed_moves.vacate(attendance, at)
    attendance.state = "ended"
    attendance.discharged_at = at
    uow.add_event(events.AttendanceEnded(attendance.id, attendance.patient_id, ward_code))


def _resume_attendance_ended_by(uow: UnitOfWork, stay: Stay, at: datetime) -> None:
    """Cancelling an admission puts the patient back in A&E if the admission ended it."""
    s = uow.session
    attendance = s.scalars(
        select(Stay)
        .where(Stay.patient_id == stay.patient_id)
        .where(Stay.state == "ended")
        .where(Stay.discharged_at == stay.admitted_at)
    ).first()
    if attendance is None:
        return
    attendance.state = "active"
    attendance.discharged_at = None
    if attendance.occupancies:
        bed_moves.resume(s, attendance, attendance.occupancies[-1], at)
    s.flush()
    uow.add_event(
        events.DischargeCancelled(attendance.id, attendance.patient_id, attendance.ward.code)
    )


def _location(uow: UnitOfWork, visit: cmds.VisitDetails) -> tuple[Ward, Bed | None]:
    if visit.location is None or not visit.location.ward:
        raise InvalidCommand("no assigned patient location (PV1-3) in the visit")
    loc = visit.location
    ward = _cached(uow, Ward, "ward", loc.ward, lambda w: w.code == loc.ward)
    if ward is None:
        ward = uow.session.scalars(select(Ward).where(Ward.code == loc.ward)).first()
        if ward is None:
            raise UnknownLocation(
                f"unknown ward {loc.ward!r} in PV1-3: add it to the ward layout, then replay"
            )
        uow.ids.put("ward", loc.ward, ward.id)
        uow.pinned[("ward", loc.ward)] = ward
    bed = None
    if loc.bed:
        _pin_beds(uow, ward)
        key = (ward.id, loc.bed)
        bed = _cached(uow, Bed, "bed", key, lambda b: (b.ward_id, b.code) == key)
        if bed is None:
            bed = uow.session.scalars(
                select(Bed).where(Bed.ward_id == ward.id).where(Bed.code == loc.bed)
            ).first()
            if bed is not None:
                uow.ids.put("bed", key, bed.id)
                uow.pinned[("bed", key)] = bed
    return ward, bed


def _pin_beds(uow: UnitOfWork, ward: Ward) -> None:
    """Load all of ``ward``'s beds once per transaction (one query instead of one per bed an
    HL7 batch names; they also serve the lazy loads of ``stay.bed``)."""
    if uow.pinned.get(("beds", ward.id)):
        return
    uow.pinned[("beds", ward.id)] = True
    for bed in uow.session.scalars(_WARD_BEDS, {"ward_id": ward.id}):
        uow.pinned[("bed", (ward.id, bed.code))] = bed
        uow.ids.put("bed", (ward.id, bed.code), bed.id)


_WARD_BEDS = select(Bed).where(Bed.ward_id == bindparam("ward_id"))


def _cached(uow: UnitOfWork, model: type[_T], kind: str, key: Any, still: Any) -> _T | None:
    """The row remembered for ``key`` if it is still there and still that key (config/id_cache).

    First the rows this transaction already holds (``uow.pinned``), then the ids remembered
    between transactions; either way the row is checked, and pinned for the rest of the
    transaction."""
    pinned = uow.pinned.get((kind, key))
    if pinned is not None:
        if inspect(pinned).persistent and still(pinned):
            return pinned  # type: ignore[no-any-return]
        del uow.pinned[(kind, key)]
    row_id = uow.ids.get(kind, key)
    if row_id is None:
        return None
    row = uow.session.get(model, row_id)
    if row is None or not still(row):
        uow.ids.forget(kind, key)
        return None
    uow.pinned[(kind, key)] = row
    return row


def _clinician(uow: UnitOfWork, ref: cmds.ClinicianRef | None) -> Clinician | None:
    if ref is None or not ref.code:
        return None
    session = uow.session
    clinician = _cached(uow, Clinician, "clinician", ref.code, lambda c: c.code == ref.code)
    if clinician is None:
        clinician = session.scalars(select(Clinician).where(Clinician.code == ref.code)).first()
        if clinician is None:
            clinician = Clinician(code=ref.code)
            session.add(clinician)
        else:
            uow.ids.put("clinician", ref.code, clinician.id)
            uow.pinned[("clinician", ref.code)] = clinician
    # Only real changes: an unchanged name must not make the row dirty (a flush and an UPDATE).
    if ref.family_name and clinician.family_name != ref.family_name:
        clinician.family_name = ref.family_name
    if ref.given_names and clinician.given_names != ref.given_names:
        clinician.given_names = ref.given_names
    if ref.prefix and clinician.prefix != ref.prefix:
        clinician.prefix = ref.prefix
    return clinician


def _active_stays(session: Session, patient: Patient, classes: tuple[str, ...]) -> list[Stay]:
    return list(session.scalars(_ACTIVE_STAYS, {"patient_id": patient.id, "classes": classes}))


# Built once: every ADT message reads the patient's current stays.
_ACTIVE_STAYS = (
    select(Stay)
    .where(Stay.patient_id == bindparam("patient_id"))
    .where(Stay.state == "active")
    .where(Stay.patient_class.in_(bindparam("classes", expanding=True)))
    .order_by(Stay.admitted_at.desc(), Stay.id.desc())
)


def _active_stay(
    session: Session, patient: Patient, visit: cmds.VisitDetails, classes: tuple[str, ...]
) -> Stay | None:
    return _pick_stay(_active_stays(session, patient, classes), visit)


def _pick_stay(stays: list[Stay], visit: cmds.VisitDetails) -> Stay | None:
    """The stay a message means among the patient's current ones (newest first)."""
    if visit.visit_number:
        for stay in stays:
            if stay.visit_number == visit.visit_number:
                return stay
    # Senders differ on whether every message repeats the visit number, and a patient is in
    # one place at a time: the most recent current stay of that kind is the one meant.
    return stays[0] if stays else None


def _latest_stay(
    session: Session, patient: Patient, visit: cmds.VisitDetails, state: str
) -> Stay | None:
    query = select(Stay).where(Stay.patient_id == patient.id).where(Stay.state == state)
    if visit.visit_number:
        query = query.where(Stay.visit_number == visit.visit_number)
    return session.scalars(query.order_by(Stay.updated_at.desc(), Stay.id.desc())).first()


def _who(details: cmds.PatientDetails) -> str:
    ident = details.identifiers[0].value if details.identifiers else details.nhs_number
    return str(ident)


def merge_patient(cmd: cmds.MergePatient, uow: UnitOfWork) -> int:
    """A40/A34 through the index's own merge, so that it moves everything a clerk's merge moves
    (identifiers, stays, orders, name history), can be unmerged, and is sent on downstream.

    The prior record keeps resolving to the survivor through ``merged_into`` (mpi.identity).
    """
    s = uow.session
    survivor = resolve_identity(s, cmd.patient).patient
    prior = s.scalars(
        select(Patient)
        .join(PatientIdentifier)
        .where(PatientIdentifier.authority == cmd.prior.authority)
        .where(PatientIdentifier.value == cmd.prior.value)
    ).first()
    if prior is None:
        raise UnknownPatient(
            f"no patient holds {cmd.prior.authority} identifier {cmd.prior.value} (MRG-1)"
        )
    if prior.id == survivor.id or prior.merged_into_id == survivor.id:
        return survivor.id  # already merged: a replay or a resend
    merge_and_announce(
        uow,
        survivor.id,
        prior.id,
        actor=cmd.source,
        reason=f"HL7 merge of {cmd.prior.authority} {cmd.prior.value}",
    )
    return survivor.id


COMMAND_HANDLERS = {
    cmds.AdmitPatient: admit_patient,
    cmds.RegisterPatient: register_patient,
    cmds.TransferPatient: transfer_patient,
    cmds.DischargePatient: discharge_patient,
    cmds.UpdatePatientInformation: update_patient_information,
    cmds.CancelAdmission: cancel_admission,
    cmds.CancelTransfer: cancel_transfer,
    cmds.CancelDischarge: cancel_discharge,
    cmds.SetBedStatus: set_bed_status,
    cmds.SwapBeds: swap_beds,
    cmds.StartLeave: start_leave,
    cmds.EndLeave: end_leave,
    cmds.MergePatient: merge_patient,
}

from whiteboard.order_handlers import ORDER_HANDLERS  # noqa: E402  (needs nothing above)

COMMAND_HANDLERS.update(ORDER_HANDLERS)
