"""A28/A31 add/update person and A34/A40 merge, through the receive pipeline."""

from __future__ import annotations

from sqlalchemy import select

from config.db import utcnow
from mpi.commands import UnmergePatients
from mpi.merge_record import MergeRecord
from mpi.models import Patient, PatientIdentifier
from tests.hl7_builder import ack_code, ack_segment, adt


def send(services, raw: bytes) -> bytes:
    return services.pipeline.receive(raw, "test")


def with_mrg(raw: bytes, mrg: str) -> bytes:
    return raw + f"MRG|{mrg}\r".encode()


def patients(services) -> dict[str, tuple[str, int | None]]:
    """Each record by its first identifier: (family name, the record it redirects to)."""
    with services.read_session() as s:
        rows = s.scalars(select(Patient).order_by(Patient.id)).all()
        by_id = {p.id: p for p in rows}
        return {
            _known_as(s, p): (
                p.family_name,
                _known_as(s, by_id[p.merged_into_id]) if p.merged_into_id else None,
            )
            for p in rows
        }


def _known_as(session, patient: Patient) -> str:
    """A merged record's identifiers move to the survivor; its merge record still names them."""
    if patient.identifiers:
        return patient.identifiers[0].value
    record = session.scalars(select(MergeRecord).where(MergeRecord.merged_id == patient.id)).one()
    [first_id, *_] = sorted(i for i, _source in record.moved["identifiers"])
    return session.get(PatientIdentifier, first_id).value


def identifiers(services) -> dict[str, str]:
    with services.read_session() as s:
        return {
            i.value: _known_as(s, i.patient)
            for i in s.scalars(select(PatientIdentifier).order_by(PatientIdentifier.id))
        }


def stays_by_patient(services) -> list[tuple[str, str]]:
    from whiteboard.models import Stay

    with services.read_session() as s:
        return [
            (st.patient.identifiers[0].value, st.state)
            for st in s.scalars(select(Stay).order_by(Stay.id))
        ]


def test_a28_adds_and_a31_updates_a_person_without_a_stay(services):
    assert ack_code(send(services, adt("A28", hospital_number="GP1", nhs_number=None))) == "AA"
    raw = adt("A31", hospital_number="GP1", nhs_number=None, family="JONES-SMITH")
    assert ack_code(send(services, raw)) == "AA"
    assert patients(services) == {"GP1": ("JONES-SMITH", None)}
    assert stays_by_patient(services) == []


def test_a40_merges_the_prior_record_into_the_survivor_and_can_be_unmerged(services):
    send(services, adt("A01", hospital_number="RM1", nhs_number=None, location="AMU^A^A1"))
    send(
        services,
        adt(
            "A01",
            hospital_number="RM2",
            nhs_number=None,
            family="JONE",
            # Different enough that the index keeps two records for the A40 to merge.
            given="Jack",
            dob="19610704",
            visit="V2",
            location="AMU^A^A2",
        ),
    )
    merge = with_mrg(
        adt("A40", control_id="MERGE1", hospital_number="RM1", nhs_number=None), "RM2^^^WGH^MR"
    )
    assert ack_code(send(services, merge)) == "AA"
    assert patients(services) == {"RM1": ("JONES", None), "RM2": ("JONE", "RM1")}
    assert identifiers(services) == {"RM1": "RM1", "RM2": "RM1"}  # RM2 now finds the survivor
    assert stays_by_patient(services) == [("RM1", "active"), ("RM1", "active")]
    assert ack_code(send(services, merge)) == "AA"  # a resend changes nothing
    # the old number still reaches the survivor
    send(services, adt("A08", hospital_number="RM2", nhs_number=None, family="JONES"))
    assert patients(services)["RM1"] == ("JONES", None)

    # An HL7 merge is the index's own merge: a records clerk can undo it exactly.
    with services.read_session() as s:
        merge_id = s.scalars(select(MergeRecord.id)).one()
    services.bus.handle(UnmergePatients(utcnow(), merge_id=merge_id, actor="clerk1"))
    assert patients(services) == {"RM1": ("JONES", None), "RM2": ("JONE", None)}
    assert stays_by_patient(services) == [("RM1", "active"), ("RM2", "active")]


def test_a40_for_an_unknown_prior_record_is_an_error_with_err(services):
    send(services, adt("A01", hospital_number="RM1", nhs_number=None))
    ack = send(services, with_mrg(adt("A40", hospital_number="RM1", nhs_number=None), "NOPE"))
    assert ack_code(ack) == "AE"
    assert ack_segment(ack, "ERR")[3].startswith("204")


def test_a40_without_mrg_is_rejected(services):
    ack = send(services, adt("A40", hospital_number="RM1", nhs_number=None))
    assert ack_code(ack) == "AR"
    assert ack_segment(ack, "ERR")[2] == "MRG^1^1"


def test_a05_records_the_person_and_a06_admits_them(services):
    assert ack_code(send(services, adt("A05", hospital_number="PRE1", nhs_number=None))) == "AA"
    assert stays_by_patient(services) == []
    assert ack_code(send(services, adt("A06", hospital_number="PRE1", nhs_number=None))) == "AA"
    assert stays_by_patient(services) == [("PRE1", "active")]
