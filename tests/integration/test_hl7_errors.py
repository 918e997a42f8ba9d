"""The error queue and replay (CLI), and per-sender accept-then-apply ("async")."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from config.cli import cli
from config.layout import Layout, WardSpec, apply_layout
from integration.senders import SenderConfigError, SenderDirectory
from tests.hl7_builder import ack_code, adt
from tests.integration.record_queries import journal, stays


def add_ward(services, code: str) -> None:
    with services.uow_factory() as uow:
        apply_layout(uow.session, Layout("x", (WardSpec(code, "New", "ward", "", ()),), (), ()))
        uow.commit()


def test_failed_message_is_listed_and_replayed_once(services, runner, monkeypatch):
    monkeypatch.setenv("WARDBOARD_DATABASE_URL", services.settings.database_url)
    raw = adt("A01", control_id="ERRQ1", location="NEWWARD^^")
    assert ack_code(services.pipeline.receive(raw, "test")) == "AE"
    [entry] = journal(services)

    listed = runner.invoke(cli, ["hl7", "errors"])
    assert listed.exit_code == 0, listed.output
    assert f"{entry.id:>8}" in listed.output and "ERRQ1" in listed.output
    assert "NEWWARD" in listed.output  # the reason, for a person

    still = runner.invoke(cli, ["hl7", "replay", str(entry.id)])
    assert still.exit_code == 1 and "still fail" in still.output

    add_ward(services, "NEWWARD")
    fixed = runner.invoke(cli, ["hl7", "replay", str(entry.id)])
    assert fixed.exit_code == 0, fixed.output
    assert f"{entry.id}: AA" in fixed.output
    again = runner.invoke(cli, ["hl7", "replay", str(entry.id)])
    assert again.exit_code == 0, again.output
    assert stays(services) == [("JONES", "NEWWARD", None, "active")]  # applied once
    assert runner.invoke(cli, ["hl7", "errors"]).output.strip() == "the error queue is empty"


def test_replay_of_an_unknown_id_is_a_clear_error(services, runner, monkeypatch):
    monkeypatch.setenv("WARDBOARD_DATABASE_URL", services.settings.database_url)
    result = runner.invoke(cli, ["hl7", "replay", "424242"])
    assert result.exit_code == 1
    assert "no journal entry with id 424242" in result.output
    assert "Traceback" not in result.output


def wait_until_handled(services, n: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if sum(e.state != "received" for e in journal(services)) >= n:
            return
        time.sleep(0.02)
    raise AssertionError("the applier did not finish")


def test_async_sender_is_acknowledged_once_stored_and_failures_go_to_the_queue(services):
    services.pipeline.senders = SenderDirectory.from_mapping(
        {"senders": {"PAS|WGH": {"apply": "async"}}}
    )
    ok = adt("A01", control_id="AS1")  # MSH-15/16 present: enhanced mode, so CA
    bad = adt("A01", control_id="AS2", location="NOWHERE^^", hospital_number="RM9")
    assert ack_code(services.pipeline.receive(ok, "t")) == "CA"
    assert ack_code(services.pipeline.receive(bad, "t")) == "CA"
    wait_until_handled(services, 2)
    states = {e.control_id: (e.state, e.ack_code) for e in journal(services)}
    assert states == {"AS1": ("applied", "CA"), "AS2": ("failed", "CA")}
    assert stays(services) == [("JONES", "AMU", "A1", "active")]
    # a resend is answered with what the sender was told, and applied no second time
    assert ack_code(services.pipeline.receive(ok, "t")) == "CA"
    assert len(stays(services)) == 1


def test_sender_only_allowed_from_its_address_is_rejected_elsewhere(services):
    services.pipeline.senders = SenderDirectory.from_mapping(
        {"senders": {"PAS": {"allowed_addresses": ["10.9.9.9"]}}}
    )
    ack = services.pipeline.receive(adt("A01", control_id="ADDR1"), "127.0.0.1:5555")
    assert ack_code(ack) == "AR" and b"ERR" in ack
    [entry] = journal(services)
    assert entry.state == "rejected" and "not accepted from 127.0.0.1" in (entry.error or "")
    assert stays(services) == []


def test_senders_file_is_checked(tmp_path: Path):
    good = tmp_path / "senders.toml"
    good.write_text('[default]\napply = "async"\n[senders."LAB"]\napply = "sync"\n')
    directory = SenderDirectory.load(good)
    assert directory.default.apply == "async" and directory.senders["LAB"].apply == "sync"
    bad = tmp_path / "bad.toml"
    bad.write_text('[senders."LAB"]\napply = "later"\n')
    with pytest.raises(SenderConfigError, match="apply must be 'sync' or 'async'"):
        SenderDirectory.load(bad)


def test_strict_sender_gets_ar_for_what_a_tolerant_one_may_send(services):
    odd = adt("A01", control_id="STRICT1").replace(b"PID|1||", b"PID|X||")  # PID-1 is SI
    services.pipeline.senders = SenderDirectory.from_mapping({"senders": {"PAS": {"strict": True}}})
    ack = services.pipeline.receive(odd, "t")
    assert ack_code(ack) == "AR"
    assert b"ERR|" in ack and b"not valid HL7 v2.5.1" in ack
    assert stays(services) == []
    services.pipeline.senders = SenderDirectory()  # tolerant (the default) accepts it
    assert ack_code(services.pipeline.receive(odd, "t")) == "AA"
    assert len(stays(services)) == 1


def test_the_example_senders_file_loads():
    example = Path(__file__).resolve().parents[2] / "config" / "senders.example.toml"
    directory = SenderDirectory.load(example)
    assert directory.senders["PAS|WGH"].accept_then_apply
    assert directory.senders["EMIS"].strict and directory.senders["EMIS"].charset == "8859/1"


def test_retention_deletes_old_applied_and_rejected_but_keeps_failures(services):
    from datetime import timedelta

    from sqlalchemy import or_, update

    from config.db import utcnow
    from config.scheduler import purge_journal
    from integration.journal import InboundMessage

    services.pipeline.receive(adt("A01", control_id="OLD1"), "t")  # applied
    services.pipeline.receive(b"not hl7 at all", "t")  # rejected
    services.pipeline.receive(adt("A01", control_id="OLD3", location="GONE^^"), "t")  # failed
    services.pipeline.receive(adt("A08", control_id="NEW1"), "t")  # applied, recent
    with services.uow_factory() as uow:
        uow.session.execute(
            update(InboundMessage)
            .where(or_(InboundMessage.control_id.is_(None), InboundMessage.control_id != "NEW1"))
            .values(received_at=utcnow() - timedelta(days=40))
        )
        uow.commit()
    services.settings = services.settings.replace(hl7_journal_retention_days=30)
    assert purge_journal(services) == 2
    assert sorted(e.control_id for e in journal(services)) == ["NEW1", "OLD3"]
