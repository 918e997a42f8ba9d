"""A backlog applied in one transaction: a savepoint per message, exactly once, and the
per-applier id cache never serving a stale ward, bed or clinician. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select, update

from config.db import utcnow
from integration import journal as journal_states
from integration.applier import Job
from integration.hl7.header import read_header
from integration.journal import InboundMessage
from integration.journal_writer import row
from tests.hl7_builder import adt
from tests.integration.record_queries import bed_status, journal, occupancies, stays
from whiteboard.models import Bed, BedOccupancy, Clinician, Stay, Ward

PEOPLE = {
    "FIRST": {"given": "Aled", "dob": "19410203", "sex": "M"},
    "LOST": {"given": "Bronwen", "dob": "19521114", "sex": "F"},
    "THIRD": {"given": "Chidi", "dob": "19630725", "sex": "M"},
    "ONCE": {"given": "Dilys", "dob": "19740506", "sex": "F"},
    "SECOND": {"given": "Eamon", "dob": "19850917", "sex": "M"},
    "GONE": {"given": "Ffion", "dob": "19960328", "sex": "F"},
    "KEPT": {"given": "Gareth", "dob": "20010611", "sex": "M"},
}


def person(family: str, number: str, **more: str) -> bytes:
    """An ADT message for a distinct person (different names and birth dates, so the master
    patient index never takes two of them for one)."""
    fields = {**PEOPLE[family], **more}
    return adt(family=family, hospital_number=number, nhs_number=None, **fields)


def journalled(services, *messages: bytes) -> list[Job]:
    """Journal messages as the listener does (async: acknowledged, not yet applied)."""
    jobs = []
    for raw in messages:
        header = read_header(raw)
        now = utcnow()
        stored = services.pipeline.writer.write(
            row(
                sender=header.sender,
                control_id=header.control_id,
                message_type=header.message_type,
                trigger_event=header.trigger_event,
                version=header.version,
                received_at=now,
                raw=raw,
                charset=header.charset,
                ack_code="AA",
                ack=b"accepted",
            )
        )
        jobs.append(Job(stored.entry_id, raw, header, now, True))
    return jobs


def test_a_failing_message_goes_to_the_error_queue_and_the_rest_of_the_batch_applies(services):
    jobs = journalled(
        services,
        person("FIRST", "H1", trigger="A01", location="AMU^A^A1"),
        person("LOST", "H2", trigger="A01", location="NOWHERE^A^1"),
        person("THIRD", "H3", trigger="A01", location="AMU^A^A2"),
        person("FIRST", "H1", trigger="A03", location="AMU^A^A1"),
    )

    outcomes = services.pipeline.apply_batch(jobs)

    assert [o.code for o in outcomes] == ["AA", "AE", "AA", "AA"]
    assert stays(services) == [
        ("FIRST", "AMU", None, "discharged"),
        ("THIRD", "AMU", "A2", "active"),
    ]
    assert bed_status(services, "AMU", "A1") == "H"
    states = [(e.state, e.error_code) for e in journal(services)]
    assert states == [
        (journal_states.APPLIED, None),
        (journal_states.FAILED, "103"),
        (journal_states.APPLIED, None),
        (journal_states.APPLIED, None),
    ]
    # The sender was told AA when the message was journalled: the stored ACK stays that.
    assert {e.ack for e in journal(services)} == {b"accepted"}


def test_a_batch_applied_again_changes_the_record_once(services):
    jobs = journalled(
        services,
        person("ONCE", "H1", trigger="A01"),
        adt("A08", family="ONCE", given="Changed", hospital_number="H1", nhs_number=None),
    )
    services.pipeline.apply_batch(jobs)
    again = services.pipeline.apply_batch(jobs)

    assert [o.code for o in again] == ["AA", "AA"]
    assert stays(services) == [("ONCE", "AMU", "A1", "active")]
    assert occupancies(services) == [("AMU", "A1", True)]
    assert [e.attempts for e in journal(services)] == [1, 1]


def test_a_bed_code_given_to_another_bed_is_not_served_from_the_id_cache(services):
    """The applier remembers bed ids by code; a layout change must not send a patient to the
    bed that used to carry the code."""
    services.pipeline.apply_batch(journalled(services, adt("A01", location="AMU^A^A1")))
    with services.uow_factory() as uow:
        s = uow.session
        amu = s.scalars(select(Ward.id).where(Ward.code == "AMU")).one()
        s.execute(update(Bed).where(Bed.ward_id == amu, Bed.code == "A1").values(code="A1-OLD"))
        s.execute(update(Bed).where(Bed.ward_id == amu, Bed.code == "A2").values(code="A1"))
        uow.commit()

    other = person("SECOND", "H2", trigger="A01", visit="V2")
    assert [o.code for o in services.pipeline.apply_batch(journalled(services, other))] == ["AA"]

    assert stays(services) == [
        ("JONES", "AMU", "A1-OLD", "active"),
        ("SECOND", "AMU", "A1", "active"),
    ]


def test_a_clinician_created_in_a_rolled_back_message_is_created_again_by_the_next(services):
    """A new doctor written inside a message whose savepoint is rolled back (here: its journal
    entry was applied meanwhile, so the claim refuses it) is gone with it; the next message
    naming that doctor must create them again, not point at the vanished row."""
    doctor = "C7654321^NEW^Doctor^^^Dr"
    jobs = journalled(
        services,
        person("GONE", "H1", trigger="A01", doctor=doctor),
        person("KEPT", "H2", trigger="A01", doctor=doctor),
    )
    services.pipeline.move_to_journal([j.entry_id for j in jobs])  # out of the spool (SQLite)
    with services.uow_factory() as uow:  # another listener applied the first one already
        uow.session.execute(
            update(InboundMessage)
            .where(InboundMessage.id == jobs[0].entry_id)
            .values(state=journal_states.APPLIED)
        )
        uow.commit()

    assert [o.code for o in services.pipeline.apply_batch(jobs)] == ["AA", "AA"]

    assert stays(services) == [("KEPT", "AMU", "A1", "active")]
    with services.read_session() as s:
        [(stay_doctor, occupancy_doctor)] = s.execute(
            select(Stay.clinician_id, BedOccupancy.clinician_id).join(
                BedOccupancy, BedOccupancy.stay_id == Stay.id
            )
        ).all()
        [created] = s.scalars(select(Clinician).where(Clinician.code == "C7654321")).all()
    assert stay_doctor == occupancy_doctor == created.id


def test_an_admission_without_a_bed_records_its_clinician_on_the_interval(services):
    services.pipeline.apply_batch(journalled(services, adt("A01", location="AMU^^")))
    with services.read_session() as s:
        [(bed_id, clinician)] = s.execute(
            select(BedOccupancy.bed_id, Clinician.code).join(
                Clinician, Clinician.id == BedOccupancy.clinician_id
            )
        ).all()
    assert (bed_id, clinician) == (None, "C1234567")


def test_a_batch_claims_every_message_that_applied_and_none_that_failed(services):
    """The batch's claims are made together at its end: each applied message is marked applied
    with the ACK its sender got (async: the stored accept ACK is kept; sync: the AA is stored),
    a message that failed is not, and applying the batch again changes nothing."""
    jobs = journalled(
        services,
        person("FIRST", "H1", trigger="A01", visit="V1"),
        adt("A01", location="NOWHERE^^X1", family="LOST", hospital_number="H2"),
        person("THIRD", "H3", trigger="A01", visit="V3", location="AMU^^A3"),
    )
    sync = Job(jobs[2].entry_id, jobs[2].raw, jobs[2].header, jobs[2].received_at, False)
    outcomes = services.pipeline.apply_batch([jobs[0], jobs[1], sync])
    assert [o.code for o in outcomes] == ["AA", "AE", "AA"]

    with services.read_session() as s:
        entries = {
            e.id: e
            for e in s.scalars(
                select(InboundMessage).where(InboundMessage.id.in_([j.entry_id for j in jobs]))
            )
        }
    first, lost, third = (entries[j.entry_id] for j in jobs)
    assert (first.state, first.ack, first.attempts) == (journal_states.APPLIED, b"accepted", 1)
    assert first.applied_at is not None
    assert (lost.state, lost.ack) == (journal_states.FAILED, b"accepted")
    assert third.state == journal_states.APPLIED
    assert third.ack == outcomes[2].ack and third.ack_code == "AA"

    again = services.pipeline.apply_batch([jobs[0], sync])
    assert [o.code for o in again] == ["AA", "AA"]
    assert [s[0] for s in stays(services)] == ["FIRST", "THIRD"]


def test_a_patient_created_by_a_failed_message_is_created_again_by_the_next(services):
    """The failed message's savepoint takes back its new patient, identifiers and identity
    events; the next message for the same person in the batch writes them once."""
    from mpi.audit import IdentityEvent
    from mpi.models import Patient, PatientIdentifier

    jobs = journalled(
        services,
        person("LOST", "H2", trigger="A01", location="NOWHERE^A^1"),
        person("LOST", "H2", trigger="A01", location="AMU^A^A2"),
        person("LOST", "H2", trigger="A08", location="AMU^A^A2"),
    )

    outcomes = services.pipeline.apply_batch(jobs)

    assert [o.code for o in outcomes] == ["AE", "AA", "AA"]
    with services.read_session() as s:
        (patient,) = s.scalars(select(Patient)).all()
        held = s.execute(select(PatientIdentifier.patient_id, PatientIdentifier.value)).all()
        assert held == [(patient.id, "H2")]
        kinds = s.scalars(select(IdentityEvent.kind).order_by(IdentityEvent.id)).all()
        assert kinds == ["add", "link"]
    assert stays(services) == [("LOST", "AMU", "A2", "active")]
