"""Orders (ORM^O01, OML^O21) and results (ORU^R01): stored, linked, statuses, loose ends kept."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.hl7_builder import ack_code, ack_segment
from whiteboard.models import Order, Result

PID = "PID|1||RM3000001^^^WGH^MR~9990000018^^^NHS^NH||JONES^John||19580312|M"


def message(kind: str, control_id: str, *segments: str, sender: str = "GPSYS|P81001") -> bytes:
    app, facility = sender.split("|")
    msh = f"MSH|^~\\&|{app}|{facility}|WARDBOARD|WGH|20261122091500||{kind}|{control_id}|P|2.5.1"
    return ("\r".join([msh, PID, *segments]) + "\r").encode()


def order(control: str, cid: str, placer: str = "GP0001", kind: str = "ORM^O01^ORM_O01"):
    return message(
        kind,
        cid,
        "|".join(["ORC", control, placer, *[""] * 18, "P81001 Practice^^^^^^^^^P81001"]),
        f"OBR|1|{placer}||FBC^Full blood count^LN|||20261122090000",
    )


def result(cid: str, status: str, placer: str = "GP0001", filler: str = "LAB77"):
    return message(
        "ORU^R01^ORU_R01",
        cid,
        "|".join(
            [
                *("OBR", "1", placer, filler, "FBC^Full blood count^LN"),
                *([""] * 17),
                *("20261122110000", "", "", status),
            ]
        ),
        "OBX|1|NM|718-7^Haemoglobin^LN||131|g/L|130-170|N",
        "OBX|2|NM|6690-2^White cells^LN||12.1|10*9/L|4.0-11.0|H",
        sender="LAB|WGH",
    )


def send(services, raw: bytes) -> bytes:
    return services.pipeline.receive(raw, "test")


def orders(services) -> list[tuple[str, str, str | None, str | None]]:
    with services.read_session() as s:
        return [
            (o.placer_order_number, o.status, o.filler_order_number, o.ordering_practice)
            for o in s.scalars(select(Order).order_by(Order.id))
        ]


def results(services) -> list[tuple[str, str, bool, str]]:
    with services.read_session() as s:
        return [
            (r.placer_order_number, r.report_status, r.order_id is not None, r.observations)
            for r in s.scalars(select(Result).order_by(Result.id))
        ]


@pytest.fixture
def client(client_as):
    """The message monitor is for administrators (docs/SECURITY.md)."""
    return client_as("admin")


def test_order_then_preliminary_then_final_result(services):
    assert ack_code(send(services, order("NW", "O1"))) == "AA"
    assert orders(services) == [("GP0001", "ordered", None, "P81001")]
    assert ack_code(send(services, result("R1", "P"))) == "AA"
    assert orders(services) == [("GP0001", "performed", "LAB77", "P81001")]
    assert ack_code(send(services, result("R2", "F"))) == "AA"
    assert ack_code(send(services, result("R3", "C"))) == "AA"  # corrected report
    assert orders(services)[0][1] == "reported"
    rows = results(services)
    assert [(r[1], r[2]) for r in rows] == [("P", True), ("F", True), ("C", True)]
    assert rows[0][3].splitlines() == [
        "Haemoglobin: 131 g/L (ref 130-170) [N]",
        "White cells: 12.1 10*9/L (ref 4.0-11.0) [H]",
    ]


def test_oml_order_and_cancel(services):
    assert ack_code(send(services, order("NW", "O1", "GP0002", "OML^O21^OML_O21"))) == "AA"
    assert ack_code(send(services, order("CA", "O2", "GP0002", "OML^O21^OML_O21"))) == "AA"
    assert orders(services) == [("GP0002", "cancelled", None, "P81001")]


def test_result_for_an_unknown_order_is_kept(services):
    assert ack_code(send(services, result("R9", "F", placer="NOSUCH"))) == "AA"
    assert orders(services) == []
    assert [(r[0], r[2]) for r in results(services)] == [("NOSUCH", False)]


def test_bad_order_control_and_result_status_are_rejected_with_err(services):
    bad_order = send(services, order("XX", "O5"))
    assert ack_code(bad_order) == "AR" and ack_segment(bad_order, "ERR")[2] == "ORC^1^1"
    bad_result = send(services, result("R5", "Z"))
    assert ack_code(bad_result) == "AR" and ack_segment(bad_result, "ERR")[2] == "OBR^1^25"


def test_orders_and_unmatched_results_are_visible_in_the_api(services, client):
    send(services, order("NW", "O1"))
    send(services, result("R1", "F"))
    send(services, result("R2", "F", placer="LOST1", filler="LAB99"))
    listed = client.get("/api/v1/hl7/orders?status=reported").get_json()["orders"]
    assert [o["placer_order_number"] for o in listed] == ["GP0001"]
    unmatched = client.get("/api/v1/hl7/results?unmatched=1").get_json()["results"]
    assert [r["placer_order_number"] for r in unmatched] == ["LOST1"]
    assert unmatched[0]["observations"][0].startswith("Haemoglobin: 131")
    assert len(client.get("/api/v1/hl7/results").get_json()["results"]) == 2


def test_orders_and_results_follow_a_merge_and_an_unmerge(services):
    """A GP's order and its result belong to the person: they move with an A40 merge and
    come back with a clerk's unmerge."""
    from config.db import utcnow
    from mpi.commands import UnmergePatients
    from mpi.merge_record import MergeRecord
    from tests.hl7_builder import adt

    assert ack_code(send(services, order("NW", "O1"))) == "AA"
    assert ack_code(send(services, result("R1", "F"))) == "AA"
    survivor = adt("A01", hospital_number="RM9", nhs_number=None, given="Jack", dob="19610704")
    assert ack_code(send(services, survivor)) == "AA"

    def owners() -> set[int]:
        with services.read_session() as s:
            return {*s.scalars(select(Order.patient_id)), *s.scalars(select(Result.patient_id))}

    def patient_holding(number: str) -> int:
        from mpi.models import PatientIdentifier

        with services.read_session() as s:
            held = select(PatientIdentifier.patient_id).where(PatientIdentifier.value == number)
            return s.scalars(held).one()

    gp_patient, rm9 = patient_holding("RM3000001"), patient_holding("RM9")
    assert owners() == {gp_patient} and gp_patient != rm9
    merge = adt("A40", hospital_number="RM9", nhs_number=None, given="Jack", dob="19610704")
    assert ack_code(send(services, merge + b"MRG|RM3000001^^^WGH^MR\r")) == "AA"
    assert owners() == {rm9}
    with services.read_session() as s:
        merge_id = s.scalars(select(MergeRecord.id)).one()
    services.bus.handle(UnmergePatients(utcnow(), merge_id=merge_id, actor="clerk1"))
    assert owners() == {gp_patient}
