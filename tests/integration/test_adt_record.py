"""ADT messages applied to the record, through the receive pipeline, on SQLite and PostgreSQL."""

from tests.hl7_builder import ack_code, ack_segment, adt
from tests.integration.record_queries import bed_status, journal, occupancies, patients, stays


def send(services, raw: bytes) -> bytes:
    return services.pipeline.receive(raw, "test")


def test_admission_puts_patient_in_bed(services):
    assert ack_code(send(services, adt("A01", family="JONES"))) == "AA"
    assert stays(services) == [("JONES", "AMU", "A1", "active")]
    assert bed_status(services, "AMU", "A1") == "O"
    [p] = patients(services)
    assert p.nhs_number == "9990000018"
    assert {(i.authority, i.value) for i in p.identifiers} == {
        ("WGH", "RM3000001"),
        ("NHS", "9990000018"),
    }


def test_transfer_moves_patient_and_old_bed_needs_cleaning(services):
    send(services, adt("A01"))
    assert (
        ack_code(send(services, adt("A02", location="W4^A^A2", prior_location="AMU^A^A1"))) == "AA"
    )
    assert stays(services) == [("JONES", "W4", "A2", "active")]
    assert bed_status(services, "AMU", "A1") == "H"
    assert bed_status(services, "W4", "A2") == "O"
    assert occupancies(services) == [("AMU", "A1", False), ("W4", "A2", True)]


def test_discharge_frees_patient_and_bed_needs_cleaning(services):
    send(services, adt("A01"))
    assert ack_code(send(services, adt("A03", discharge_time="20261123110000"))) == "AA"
    assert stays(services) == [("JONES", "AMU", None, "discharged")]
    assert bed_status(services, "AMU", "A1") == "H"
    assert occupancies(services) == [("AMU", "A1", False)]


def test_bed_cleaned_by_a20(services):
    send(services, adt("A01"))
    send(services, adt("A03"))
    raw = (
        b"MSH|^~\\&|PAS|WGH|WB|WGH|20261122||ADT^A20|C1|P|2.5.1\r"
        b"EVN|A20|20261122120000\rNPU|AMU^A^A1|U\r"
    )
    assert ack_code(send(services, raw)) == "AA"
    assert bed_status(services, "AMU", "A1") == "U"


def test_ae_attendance_then_admission_stops_the_ae_clock(services):
    send(services, adt("A04", patient_class="E", location="AE^MAJ^M1", visit="E1"))
    assert stays(services) == [("JONES", "AE", "M1", "active")]
    send(services, adt("A01", visit="V2", location="AMU^A^A3", admit_time="20261122120000"))
    assert stays(services) == [("JONES", "AE", None, "ended"), ("JONES", "AMU", "A3", "active")]
    assert bed_status(services, "AE", "M1") == "H"


def test_admission_of_an_inpatient_seen_in_ae_ends_the_attendance_too(services):
    """An A01 that lands on the patient's current inpatient stay (sent again after an A&E visit)
    still stops the A&E clock: the patient cannot be on a ward and waiting in A&E at once."""
    send(services, adt("A01", visit="V1", location="AMU^A^A1", admit_time="20261122090000"))
    send(services, adt("A04", patient_class="E", location="AE^MAJ^M1", visit="E1"))
    send(services, adt("A01", visit="V1", location="W4^A^A2", admit_time="20261122120000"))
    assert stays(services) == [("JONES", "W4", "A2", "active"), ("JONES", "AE", None, "ended")]


def test_cancel_admission_removes_stay_and_frees_bed(services):
    send(services, adt("A04", patient_class="E", location="AE^MAJ^M1", visit="E1"))
    send(services, adt("A01", visit="V2", location="AMU^A^A3"))
    assert ack_code(send(services, adt("A11", visit="V2", location="AMU^A^A3"))) == "AA"
    assert stays(services) == [("JONES", "AE", "M1", "active"), ("JONES", "AMU", None, "cancelled")]
    assert bed_status(services, "AMU", "A3") == "U"  # nobody slept in it
    assert bed_status(services, "AE", "M1") == "O"  # back in A&E


def test_cancel_transfer_returns_patient_to_original_bed(services):
    send(services, adt("A01"))
    send(services, adt("A02", location="W4^A^A2"))
    assert ack_code(send(services, adt("A12", location="AMU^A^A1"))) == "AA"
    assert stays(services) == [("JONES", "AMU", "A1", "active")]
    assert bed_status(services, "W4", "A2") == "U"
    assert bed_status(services, "AMU", "A1") == "O"
    assert occupancies(services) == [("AMU", "A1", True)]


def test_cancel_discharge_reinstates_the_stay(services):
    send(services, adt("A01"))
    send(services, adt("A03"))
    assert ack_code(send(services, adt("A13"))) == "AA"
    assert stays(services) == [("JONES", "AMU", "A1", "active")]
    assert bed_status(services, "AMU", "A1") == "O"


def test_a08_updates_demographics_and_doctor(services):
    send(services, adt("A01", family="JONE"))
    send(services, adt("A08", family="JONES", doctor="C7654321^HUGHES^Gareth^^^Dr"))
    assert stays(services) == [("JONES", "AMU", "A1", "active")]
    [p] = patients(services)
    assert p.family_name == "JONES"


def test_patient_found_again_by_nhs_number_from_another_system(services):
    send(services, adt("A04", patient_class="E", location="AE^MAJ^M2", visit="E9"))
    send(services, adt("A01", hospital_number="OTHER1", visit="V9", location="W4^A^A1"))
    assert len(patients(services)) == 1


def test_admission_to_occupied_bed_keeps_other_patient_on_ward(services):
    send(services, adt("A01", hospital_number="H1", nhs_number=None, family="FIRST", visit="V1"))
    # A different person (the MPI would rightly take a same-name, same-birthday, same-address
    # record for the first patient).
    send(
        services,
        adt(
            "A01",
            hospital_number="H2",
            nhs_number=None,
            family="SECOND",
            given="Mary",
            dob="19901107",
            sex="F",
            visit="V2",
        ),
    )
    assert stays(services) == [("FIRST", "AMU", None, "active"), ("SECOND", "AMU", "A1", "active")]


def test_unknown_ward_is_ae_with_err_and_kept_for_replay(services):
    ack = send(services, adt("A01", location="NOWARD^A^1"))
    assert ack_code(ack) == "AE"
    err = ack_segment(ack, "ERR")
    assert err[3].startswith("103^")
    assert "NOWARD" in err[8]
    [entry] = journal(services)
    assert entry.state == "failed" and "NOWARD" in entry.error
    assert stays(services) == []


def test_discharge_without_stay_is_ae(services):
    ack = send(services, adt("A03"))
    assert ack_code(ack) == "AE"
    assert ack_segment(ack, "ERR")[3].startswith("204^")


def test_unknown_bed_keeps_patient_on_ward_without_bed(services):
    send(services, adt("A01", location="AMU^A^Z9"))
    assert stays(services) == [("JONES", "AMU", None, "active")]


def test_names_keep_their_characters(services):
    send(services, adt("A01", family="O'BRIEN", given="Siân", charset="8859/1", encoding="latin-1"))
    send(
        services,
        adt(
            "A01",
            hospital_number="H2",
            nhs_number=None,
            family="<script>x</script>",
            given="Ŵyn",
            visit="V2",
            location="AMU^A^A2",
        ),
    )
    names = {(p.family_name, p.given_names) for p in patients(services)}
    assert names == {("O'BRIEN", "Siân"), ("<script>x</script>", "Ŵyn")}
