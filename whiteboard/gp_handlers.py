"""Handlers: store a practice's synopsis, and record or revoke a practice's sharing.

A synopsis belongs to a practice's *registered* patient: one for anyone else is refused, so a
practice cannot write into the record of a patient it does not look after. A synopsis older
than the one already held (``as_of``) is ignored rather than allowed to overwrite a newer one,
which keeps a late resend or a replay from winding the record back.
"""

from __future__ import annotations

from sqlalchemy import select

from config.unit_of_work import UnitOfWork
from mpi.models import Patient
from whiteboard import commands as cmds
from whiteboard import events
from whiteboard.errors import InvalidCommand, RecordError, UnknownPatient
from whiteboard.gp_commands import AuthoriseGpSharing, RecordGpSynopsis, RevokeGpSharing
from whiteboard.handlers import update_patient_information
from whiteboard.models.gp_synopsis import (
    GpSharingAuthorisation,
    GpSynopsis,
    GpSynopsisAllergy,
    GpSynopsisEvent,
    GpSynopsisMedication,
)


class NotRegisteredWithPractice(RecordError):
    """The patient is not registered with the practice that sent the synopsis."""

    hl7_code = "204"  # unknown key identifier (for this practice)


class SharingStateConflict(RecordError):
    """Authorising a practice already sharing, or revoking one that is not."""


def _patient_for(cmd: RecordGpSynopsis, uow: UnitOfWork) -> Patient:
    s = uow.session
    if cmd.patient is not None:
        # The same demographics update any A31 makes, in the same transaction.
        update = cmds.UpdatePatientInformation(cmd.occurred_at, cmd.patient, source=cmd.source)
        return s.get_one(Patient, update_patient_information(update, uow))
    if not cmd.nhs_number:
        raise InvalidCommand("the synopsis names no patient")
    patient = s.scalars(
        select(Patient)
        .where(Patient.nhs_number == cmd.nhs_number)
        .where(Patient.merged_into_id.is_(None))
        .order_by(Patient.id)
    ).first()
    if patient is None:
        raise UnknownPatient(f"no patient with NHS number {cmd.nhs_number}")
    return patient


def record_gp_synopsis(cmd: RecordGpSynopsis, uow: UnitOfWork) -> int:
    s = uow.session
    practice = cmd.practice.strip().upper()
    if not practice:
        raise InvalidCommand("the synopsis names no GP practice")
    patient = _patient_for(cmd, uow)
    if (patient.gp_practice_code or "").upper() != practice:
        raise NotRegisteredWithPractice(
            f"the patient is not registered with practice {practice}; a practice may only "
            "share the record of its own registered patients"
        )
    held = s.scalars(
        select(GpSynopsis)
        .where(GpSynopsis.patient_id == patient.id)
        .where(GpSynopsis.practice_code == practice)
        .order_by(GpSynopsis.as_of.desc(), GpSynopsis.id.desc())
    ).all()
    if held and held[0].as_of > cmd.occurred_at:
        return held[0].id  # older than what we hold: keep the newer summary
    for old in held:
        s.delete(old)
    s.flush()
    c = cmd.content
    synopsis = GpSynopsis(
        patient_id=patient.id,
        practice_code=practice,
        as_of=cmd.occurred_at,
        source=cmd.source[:40],
        medications=[
            GpSynopsisMedication(position=i, name=m.name, dose=m.dose, started=m.started)
            for i, m in enumerate(c.medications)
        ],
        allergies=[
            GpSynopsisAllergy(
                position=i, substance=a.substance, reaction=a.reaction, severity=a.severity
            )
            for i, a in enumerate(c.allergies)
        ],
        events=[
            GpSynopsisEvent(position=i, event_date=e.event_date, description=e.description)
            for i, e in enumerate(c.events)
        ],
    )
    s.add(synopsis)
    s.flush()
    uow.add_event(events.GpSynopsisRecorded(patient.id, practice, synopsis.id))
    return synopsis.id


def _active(uow: UnitOfWork, practice: str) -> GpSharingAuthorisation | None:
    return uow.session.scalars(
        select(GpSharingAuthorisation)
        .where(GpSharingAuthorisation.practice_code == practice)
        .where(GpSharingAuthorisation.revoked_at.is_(None))
        .order_by(GpSharingAuthorisation.id.desc())
    ).first()


def authorise_gp_sharing(cmd: AuthoriseGpSharing, uow: UnitOfWork) -> int:
    practice = cmd.practice.strip().upper()
    if not practice or not cmd.authorised_by.strip():
        raise InvalidCommand("a practice code and who at the practice authorised are required")
    if _active(uow, practice) is not None:
        raise SharingStateConflict(f"practice {practice} already shares its synopses")
    row = GpSharingAuthorisation(
        practice_code=practice,
        authorised_by=cmd.authorised_by.strip()[:200],
        recorded_by=cmd.recorded_by[:80],
        authorised_at=cmd.occurred_at,
        note=cmd.note.strip()[:300],
    )
    uow.session.add(row)
    uow.session.flush()
    uow.add_event(events.GpSharingChanged(practice, True))
    return row.id


def revoke_gp_sharing(cmd: RevokeGpSharing, uow: UnitOfWork) -> int:
    practice = cmd.practice.strip().upper()
    row = _active(uow, practice)
    if row is None:
        raise SharingStateConflict(f"practice {practice} does not share its synopses")
    row.revoked_at = cmd.occurred_at
    row.revoked_by = cmd.revoked_by[:80]
    uow.session.flush()
    uow.add_event(events.GpSharingChanged(practice, False))
    return row.id


GP_HANDLERS = {
    RecordGpSynopsis: record_gp_synopsis,
    AuthoriseGpSharing: authorise_gp_sharing,
    RevokeGpSharing: revoke_gp_sharing,
}
