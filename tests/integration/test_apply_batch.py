"""A backlog applied in one transaction: a savepoint per message, exactly once, and the
per-applier id cache never serving a stale ward, bed or clinician. SQLite and PostgreSQL."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select, update

from config.db import utcnow
from integration import journal as journal_states
from integration.applier import Job
from integration.hl7.header import read_header
from integration.journal import InboundMessage
from integration.journal_writer import row
from tests.hl7_builder import adt
from tests.integration.record_queries import bed_status, journal, occupancies, stays
from whiteboard import events
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


def published(services) -> list[object]:  # type: ignore[no-untyped-def]
    """Every event the bus publishes from now on (after its transaction committed)."""
    seen: list[object] = []
    publish = services.bus.publish

    def keep(event: object) -> None:
        seen.append(event)
        publish(event)

    services.bus.publish = keep
    return seen


def through_the_applier(services, jobs: list[Job]) -> list[str]:  # type: ignore[no-untyped-def]
    futures = [services.pipeline.applier.enqueue(job) for job in jobs]
    return [f.result(timeout=60).code for f in futures]


def test_a_message_waiting_for_its_journal_commit_interrupts_an_apply_and_nothing_is_lost(
    services,
):
    """SQLite (one writer): a message waiting for the journal stops the command being applied at
    its next statement; that command is rolled back to its savepoint, with its events, and
    applied in full by the next batch: once, its events published once."""
    if not services.uow_factory.single_writer:
        pytest.skip("PostgreSQL: journal commits never wait for an apply")
    jobs = journalled(
        services,
        person("FIRST", "H1", trigger="A01", location="AMU^A^A1"),
        person("THIRD", "H3", trigger="A01", location="AMU^A^A2"),
        person("FIRST", "H1", trigger="A03", location="AMU^A^A1"),
    )
    seen = published(services)
    calls = itertools.count(1)
    # The 5th and 6th checks (statements of the first admission) find a journal commit waiting.
    services.pipeline.writer.waiting = lambda: next(calls) in (5, 6)

    assert through_the_applier(services, jobs) == ["AA", "AA", "AA"]

    assert services.pipeline.preemptions == 1
    assert stays(services) == [
        ("FIRST", "AMU", None, "discharged"),
        ("THIRD", "AMU", "A2", "active"),
    ]
    assert occupancies(services) == [("AMU", "A1", False), ("AMU", "A2", True)]
    assert [(e.state, e.attempts) for e in journal(services)] == [(journal_states.APPLIED, 1)] * 3
    kinds = [type(e) for e in seen if isinstance(e, events.Event)]
    assert kinds.count(events.PatientAdmitted) == 2
    assert kinds.count(events.PatientDischarged) == 1


def test_an_applier_interrupted_every_time_still_applies_every_message(services):
    """A message that has given way twice in a row is applied to the end: senders that never
    pause cannot starve the applier."""
    if not services.uow_factory.single_writer:
        pytest.skip("PostgreSQL: journal commits never wait for an apply")
    jobs = journalled(
        services,
        person("ONCE", "H1", trigger="A01", location="AMU^A^A1"),
        person("SECOND", "H2", trigger="A01", location="AMU^A^A2"),
    )
    services.pipeline.writer.waiting = lambda: True

    assert through_the_applier(services, jobs) == ["AA", "AA"]

    assert services.pipeline.preemptions == 2 * services.pipeline.MAX_PREEMPTIONS
    assert stays(services) == [("ONCE", "AMU", "A1", "active"), ("SECOND", "AMU", "A2", "active")]
    assert [e.attempts for e in journal(services)] == [1, 1]
