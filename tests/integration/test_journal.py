"""The journal: stored before the ACK, duplicates answered again and never applied twice."""

import pytest

from tests.hl7_builder import ack_code, ack_segment, adt
from tests.integration.record_queries import journal, occupancies, stays


def send(services, raw: bytes) -> bytes:
    return services.pipeline.receive(raw, "test")


def test_every_message_is_journalled_raw(services):
    raw = adt("A01", control_id="J1")
    send(services, raw)
    [entry] = journal(services)
    assert entry.raw == raw
    assert (entry.sender, entry.control_id, entry.message_type, entry.trigger_event) == (
        "PAS|WGH",
        "J1",
        "ADT",
        "A01",
    )
    assert entry.state == "applied" and entry.ack_code == "AA"


def test_resent_message_is_answered_again_and_applied_once(services):
    raw = adt("A02", control_id="DUP1", location="W4^A^A2")
    send(services, adt("A01", control_id="ADM1"))
    first = send(services, raw)
    again = send(services, raw)
    assert ack_code(first) == ack_code(again) == "AA"
    assert ack_segment(first, "MSA")[2] == ack_segment(again, "MSA")[2] == "DUP1"
    assert len(journal(services)) == 2
    assert occupancies(services) == [("AMU", "A1", False), ("W4", "A2", True)]


def test_same_control_id_from_another_sender_is_a_different_message(services):
    send(services, adt("A01", control_id="SAME", sender="PAS"))
    send(services, adt("A08", control_id="SAME", sender="LAB"))
    assert len(journal(services)) == 2


def test_failed_message_resent_after_the_fault_is_fixed_is_applied(services):
    from config.layout import Layout, WardSpec, apply_layout

    raw = adt("A01", control_id="LATE1", location="NEWWARD^^")
    assert ack_code(send(services, raw)) == "AE"
    with services.uow_factory() as uow:
        apply_layout(
            uow.session, Layout("x", (WardSpec("NEWWARD", "New", "ward", "", ()),), (), ())
        )
        uow.commit()
    assert ack_code(send(services, raw)) == "AA"
    assert stays(services) == [("JONES", "NEWWARD", None, "active")]
    [entry] = journal(services)
    assert entry.state == "applied" and entry.attempts == 2


@pytest.mark.parametrize(
    ("raw", "code", "err_code"),
    [
        (adt().replace(b"ADT^A01^ADT_A01", b"SIU^S12^SIU_S12"), "AR", "200"),
        (adt().replace(b"ADT^A01^ADT_A01", b"ADT^A99"), "AR", "201"),
        (adt(charset="UNICODE UTF-8", family="Siân", encoding="latin-1"), "AR", "102"),
        (adt(dob="notadate"), "AR", "102"),
        (adt(control_id="X").replace(b"|X|P|", b"||P|"), "AR", "101"),
    ],
)
def test_rejections_carry_err_and_are_journalled(services, raw, code, err_code):
    ack = send(services, raw)
    assert ack_code(ack) == code
    assert ack_segment(ack, "ERR")[3].startswith(err_code + "^")
    [entry] = journal(services)
    assert entry.state == "rejected" and entry.raw == raw
    assert stays(services) == []


def test_unreadable_message_is_rejected_and_still_journalled(services):
    ack = send(services, b"this is not HL7")
    assert ack_code(ack) == "AR"
    [entry] = journal(services)
    assert entry.raw == b"this is not HL7" and entry.state == "rejected"


def test_recovery_applies_what_was_journalled_but_not_applied(services):
    from config.db import utcnow
    from integration.journal import InboundMessage

    raw = adt("A01", control_id="CRASH1")
    with services.uow_factory() as uow:  # as if the process died right after journalling
        uow.session.add(
            InboundMessage(
                sender="PAS|WGH",
                control_id="CRASH1",
                message_type="ADT",
                trigger_event="A01",
                received_at=utcnow(),
                raw=raw,
            )
        )
        uow.commit()
    assert services.pipeline.recover() == 1
    assert stays(services) == [("JONES", "AMU", "A1", "active")]
    assert ack_code(send(services, raw)) == "AA"  # the resend is answered, not re-applied
    assert len(stays(services)) == 1
