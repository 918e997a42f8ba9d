"""The HL7 spool (SQLite): an ACK never waits for the records' write lock, entries keep their
ids into the journal, and a crash between the two files never applies a message twice."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert, select

from config.app import app_services
from integration import journal as journal_states
from integration.journal import InboundMessage
from integration.senders import SenderDirectory
from integration.spool import SPOOLED, spool_path
from tests.conftest import _make_settings, laid_out_app
from tests.hl7_builder import adt
from tests.integration.record_queries import journal, stays

ASYNC = {"senders": {"PAS|WGH": {"apply": "async"}}}
TOKEN = "scrape-me-0123456789abcdef"


@pytest.fixture
def app(tmp_path: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    app = laid_out_app(_make_settings(tmp_path, sqlite_url).replace(metrics_token=TOKEN))
    app_services(app).pipeline.senders = SenderDirectory.from_mapping(ASYNC)
    yield app
    app_services(app).stop()


@pytest.fixture
def services(app):  # type: ignore[no-untyped-def]
    return app_services(app)


def spool_one(services, control_id: str) -> None:  # type: ignore[no-untyped-def]
    """A received entry in the spool that no applier has taken (left by a crash)."""
    values = {
        "sender": "PAS|WGH",
        "control_id": control_id,
        "received_at": services.clock.now() - timedelta(seconds=90),
        "raw": adt("A01", control_id=control_id),
        "state": journal_states.RECEIVED,
        "ack_code": "AA",
        "ack": b"accepted",
    }
    with services.pipeline.spool.write_connection() as conn:
        conn.execute(insert(SPOOLED), values)


def test_the_spool_sits_next_to_a_sqlite_database_file_only() -> None:
    assert spool_path("sqlite:////data/wardboard.sqlite") == Path("/data/wardboard.hl7spool.sqlite")
    assert spool_path("sqlite://") is None
    assert spool_path("postgresql+psycopg://u@h/db") is None


def test_a_message_is_acknowledged_while_an_apply_holds_the_records_write_lock(services):
    """The ACK path commits to the spool only: a long apply transaction (here, the test holding
    BEGIN IMMEDIATE on the record database) does not hold the ACK back."""
    answer: Future[bytes] = Future()
    with services.uow_factory() as uow:
        uow.session.connection()  # BEGIN IMMEDIATE: the records' write lock is ours
        thread = threading.Thread(
            target=lambda: answer.set_result(services.pipeline.receive(adt("A01")))
        )
        thread.start()
        ack = answer.result(timeout=60)  # answered while we still hold the lock
        assert b"MSA|CA|" in ack  # accepted (enhanced mode), stored
        assert services.pipeline.spool.count() == 1
    services.pipeline.applier.stop()  # waits for the apply the lock held back
    assert stays(services) == [("JONES", "AMU", "A1", "active")]
    assert services.pipeline.spool.count() == 0


def test_an_entry_keeps_its_id_into_the_journal_and_a_resend_finds_it_there(services):
    first = services.pipeline.process(adt("A01", control_id="MSG1"))
    services.pipeline.applier.stop()  # applied: moved out of the spool into the journal
    [entry] = journal(services)
    assert (entry.id, entry.state, entry.control_id) == (first.entry_id, "applied", "MSG1")

    again = services.pipeline.process(adt("A01", control_id="MSG1"))

    assert again.entry_id == first.entry_id and again.ack == first.ack
    services.pipeline.applier.stop()
    assert services.pipeline.spool.count() == 0
    assert [e.attempts for e in journal(services)] == [1]


def test_ids_continue_after_the_journal_when_the_spool_is_new(services):
    """A journal written before the spool existed (or with it turned off): spooled ids start
    above its last id, so a moved entry never collides with one already there."""
    with services.uow_factory.write_connection() as conn:
        conn.execute(
            insert(InboundMessage.__table__),
            {
                "id": 500,
                "sender": "OLD",
                "received_at": services.clock.now(),
                "raw": b"MSH|^~\\&|OLD",
                "state": journal_states.APPLIED,
            },
        )
    outcome = services.pipeline.process(adt("A01", control_id="NEW1"))
    services.pipeline.applier.stop()
    assert outcome.entry_id > 500
    assert [(e.id > 500, e.state) for e in journal(services) if e.sender != "OLD"] == [
        (True, "applied")
    ]


def test_a_crash_between_the_journal_commit_and_the_spool_delete_applies_nothing_twice(
    services,
):
    outcome = services.pipeline.process(adt("A01", control_id="ONCE"))
    services.pipeline.applier.stop()
    spool = services.pipeline.spool
    # The process died after the journal's commit, before the spool forgot the entry.
    [entry] = journal(services)
    with spool.engine.begin() as conn:
        conn.execute(
            insert(SPOOLED),
            {
                "id": entry.id,
                "sender": entry.sender,
                "control_id": entry.control_id,
                "received_at": entry.received_at,
                "raw": entry.raw,
                "state": journal_states.RECEIVED,
                "ack_code": "AA",
                "ack": outcome.ack,
            },
        )

    assert services.pipeline.recover() == 0

    assert spool.count() == 0
    assert stays(services) == [("JONES", "AMU", "A1", "active")]
    assert [(e.state, e.attempts) for e in journal(services)] == [("applied", 1)]


def test_a_spooled_entry_left_by_a_crash_is_applied_at_recovery(services):
    services.pipeline.applier.stop()
    spool_one(services, "LEFT1")

    assert services.pipeline.recover() == 1

    assert services.pipeline.spool.count() == 0
    assert [(e.control_id, e.state, e.ack) for e in journal(services)] == [
        ("LEFT1", "applied", b"accepted")
    ]
    assert stays(services) == [("JONES", "AMU", "A1", "active")]


def test_a_message_rejected_on_receipt_is_in_the_journal_at_once(services):
    """No apply will move a rejection: it goes into the journal before its AR is sent."""
    ack = services.pipeline.receive(b"EVN|A01|20261122\rPID|1||X\r")

    assert b"MSA|AR|" in ack
    with services.read_session() as s:
        assert s.scalars(select(InboundMessage.state)).all() == ["rejected"]
    assert services.pipeline.spool.count() == 0


def test_metrics_count_a_spooled_message_as_waiting_to_be_applied(app, services):
    spool_one(services, "WAIT1")

    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for s in family.samples
    }
    assert samples[("wardboard_hl7_journal_messages", (("state", "received"),))] == 1
    assert samples[("wardboard_hl7_apply_backlog_oldest_seconds", ())] >= 90
