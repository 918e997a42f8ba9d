"""A17 bed swaps and A21/A22 (A52/A53) leave of absence, through the receive pipeline and
over MLLP to the Socket.IO boards, on SQLite and PostgreSQL."""

from __future__ import annotations

from integration.mllp.client import MllpClient
from tests.board_socket import BoardSocket
from tests.hl7_builder import ack_code, ack_segment, adt, swap
from tests.integration.record_queries import bed_status, journal, occupancies, patients, stays


def send(services, raw: bytes) -> bytes:
    return services.pipeline.receive(raw, "test")


def admit(services, number: str, family: str, location: str, visit: str) -> None:
    raw = adt(
        "A01",
        hospital_number=number,
        nhs_number=None,
        family=family,
        given="Pat",
        dob="19600101" if family != "BROWN" else "19711212",
        sex="F",
        location=location,
        visit=visit,
    )
    assert ack_code(send(services, raw)) == "AA"


def leave(services, trigger: str, **fields) -> bytes:
    return send(services, adt(trigger, event_time=fields.pop("at", "20261122150000"), **fields))


def snapshot_patient(services, ward: str) -> dict:
    from datetime import UTC, datetime

    from whiteboard.board.snapshot import build_snapshot

    with services.read_session() as s:
        snap = build_snapshot(s, ward, datetime.now(UTC), "Europe/London")
    [patient] = snap["patients"]
    return patient


# --- A17 swap beds -----------------------------------------------------------------------


def test_a17_swaps_two_patients_on_one_ward(services):
    admit(services, "H1", "GREEN", "AMU^A^A1", "V1")
    admit(services, "H2", "BROWN", "AMU^A^A2", "V2")
    ack = send(services, swap(("H1", "GREEN", "AMU^A^A2", "V1"), ("H2", "BROWN", "AMU^A^A1", "V2")))
    assert ack_code(ack) == "AA"
    assert stays(services) == [("GREEN", "AMU", "A2", "active"), ("BROWN", "AMU", "A1", "active")]
    assert bed_status(services, "AMU", "A1") == "O"  # taken at once: no cleaning between
    assert bed_status(services, "AMU", "A2") == "O"
    assert occupancies(services) == [
        ("AMU", "A1", False),
        ("AMU", "A2", False),
        ("AMU", "A2", True),
        ("AMU", "A1", True),
    ]


def test_a17_across_wards_and_a_resend_is_not_applied_twice(services):
    admit(services, "H1", "GREEN", "AMU^A^A1", "V1")
    admit(services, "H2", "BROWN", "W4^A^A2", "V2")
    raw = swap(("H1", "GREEN", "W4^A^A2", "V1"), ("H2", "BROWN", "AMU^A^A1", "V2"))
    assert ack_code(send(services, raw)) == "AA"
    assert ack_code(send(services, raw)) == "AA"  # the resend gets the stored ACK
    assert stays(services) == [("GREEN", "W4", "A2", "active"), ("BROWN", "AMU", "A1", "active")]
    assert len(occupancies(services)) == 4


def test_a17_with_one_patient_unknown_is_ae_and_nothing_is_written(services):
    admit(services, "H1", "GREEN", "AMU^A^A1", "V1")
    before_patients = len(patients(services))
    ack = send(
        services, swap(("H1", "GREEN", "AMU^A^A3", "V1"), ("NOBODY", "GHOST", "AMU^A^A1", ""))
    )
    assert ack_code(ack) == "AE"
    err = ack_segment(ack, "ERR")
    assert err[3].startswith("204^") and "NOBODY" in err[8]
    assert stays(services) == [("GREEN", "AMU", "A1", "active")]
    assert occupancies(services) == [("AMU", "A1", True)]
    assert len(patients(services)) == before_patients  # the unknown person was not created
    assert journal(services)[-1].state == "failed"


def test_a17_with_one_pid_is_ar_with_err(services):
    admit(services, "H1", "GREEN", "AMU^A^A1", "V1")
    ack = send(
        services, swap(("H1", "GREEN", "AMU^A^A2", "V1"), ("", "", "", ""), second_pid=False)
    )
    assert ack_code(ack) == "AR"
    assert ack_segment(ack, "ERR")[3].startswith("100^")
    assert stays(services) == [("GREEN", "AMU", "A1", "active")]


def test_a17_second_pid_without_identifier_points_at_the_second_pid(services):
    ack = send(services, swap(("H1", "GREEN", "AMU^A^A2", "V1"), ("", "BROWN", "AMU^A^A1", "V2")))
    assert ack_code(ack) == "AR"
    err = ack_segment(ack, "ERR")
    assert err[2] == "PID^2^3" and err[3].startswith("101^")


def test_a17_pushes_both_wards_boards(live_server, staff_token):
    auth = {"signon": staff_token}
    boards = {ward: BoardSocket(live_server.url, auth, ward) for ward in ("AMU", "W4")}
    try:
        with MllpClient("127.0.0.1", live_server.mllp.port) as mllp:
            for number, family, location, visit in (
                ("H1", "GREEN", "AMU^A^A1", "V1"),
                ("H2", "BROWN", "W4^A^A2", "V2"),
            ):
                raw = adt(
                    "A01",
                    hospital_number=number,
                    nhs_number=None,
                    family=family,
                    dob="19600101" if family == "GREEN" else "19711212",
                    location=location,
                    visit=visit,
                )
                assert ack_code(mllp.send(raw)) == "AA"
                boards[location.split("^")[0]].next()
            raw = swap(("H1", "GREEN", "W4^A^A2", "V1"), ("H2", "BROWN", "AMU^A^A1", "V2"))
            assert ack_code(mllp.send(raw)) == "AA"
        amu, w4 = (boards[ward].latest()["snapshot"] for ward in ("AMU", "W4"))
        assert [(p["display_name"], p["bed"]) for p in amu["patients"]] == [("BROWN, Pat", "A1")]
        assert [(p["display_name"], p["bed"]) for p in w4["patients"]] == [("GREEN, Pat", "A2")]
    finally:
        for board in boards.values():
            board.close()


# --- A21/A22 leave of absence, A52/A53 cancellations ---------------------------------------


def test_leave_of_absence_keeps_the_bed_and_shows_on_the_board(services):
    send(services, adt("A01"))
    assert ack_code(leave(services, "A21", at="20261122150000")) == "AA"
    assert stays(services) == [("JONES", "AMU", "A1", "active")]
    assert bed_status(services, "AMU", "A1") == "O"  # still theirs
    patient = snapshot_patient(services, "AMU")
    assert patient["on_leave_since"] == "2026-11-22T15:00:00+00:00"
    assert patient["bed"] == "A1"

    assert ack_code(leave(services, "A22", at="20261122190000")) == "AA"
    assert snapshot_patient(services, "AMU")["on_leave_since"] is None
    assert bed_status(services, "AMU", "A1") == "O"


def test_a53_cancels_the_return_and_a52_cancels_the_leave(services):
    send(services, adt("A01"))
    leave(services, "A21", at="20261122150000")
    leave(services, "A22", at="20261122190000")
    assert ack_code(leave(services, "A53", at="20261122191000")) == "AA"
    assert snapshot_patient(services, "AMU")["on_leave_since"] == "2026-11-22T15:00:00+00:00"
    assert ack_code(leave(services, "A52", at="20261122192000")) == "AA"
    assert snapshot_patient(services, "AMU")["on_leave_since"] is None
    with services.read_session() as s:
        from sqlalchemy import select

        from whiteboard.models import Stay

        stay = s.scalars(select(Stay)).one()
        assert stay.leave_started_at is None and stay.leave_ended_at is None


def test_repeated_leave_messages_change_nothing_more(services):
    send(services, adt("A01"))
    leave(services, "A21", at="20261122150000")
    assert ack_code(leave(services, "A21", at="20261122160000")) == "AA"
    assert snapshot_patient(services, "AMU")["on_leave_since"] == "2026-11-22T15:00:00+00:00"
    leave(services, "A22")
    assert ack_code(leave(services, "A22")) == "AA"
    assert snapshot_patient(services, "AMU")["on_leave_since"] is None


def test_leave_without_a_stay_is_ae_with_err(services):
    ack = leave(services, "A21")
    assert ack_code(ack) == "AE"
    assert ack_segment(ack, "ERR")[3].startswith("204^")
    assert stays(services) == []


def test_a53_without_a_leave_is_ae(services):
    send(services, adt("A01"))
    ack = leave(services, "A53")
    assert ack_code(ack) == "AE"
    assert "no leave" in ack_segment(ack, "ERR")[8]


def test_discharge_while_on_leave_ends_the_stay(services):
    send(services, adt("A01"))
    leave(services, "A21")
    assert ack_code(send(services, adt("A03"))) == "AA"
    assert stays(services) == [("JONES", "AMU", None, "discharged")]
