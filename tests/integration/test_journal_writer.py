"""The journal's group commit: callers lead commits in turn, every message is stored once and
handed on in journal order, and journal commits leave SQLite's checkpoints to the applier."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from config.db import make_engine, utcnow
from config.unit_of_work import (
    JOURNAL_AUTOCHECKPOINT_PAGES,
    WAL_AUTOCHECKPOINT_PAGES,
    UnitOfWorkFactory,
)
from integration.journal import InboundMessage
from integration.journal_writer import JournalWriter, Stored, row


def message(sender: str, control_id: str, size: int = 200) -> dict:
    return row(
        sender=sender,
        control_id=control_id,
        message_type="ADT",
        trigger_event="A01",
        version="2.5.1",
        received_at=utcnow(),
        raw=b"MSH|" + b"x" * size,
    )


def test_concurrent_callers_each_get_their_own_committed_entry_in_journal_order(database_url):
    engine = make_engine(database_url)
    writer = JournalWriter(UnitOfWorkFactory(engine))
    handed_on: list[int] = []
    writer.after_commit = lambda pairs: handed_on.extend(s.entry_id for _v, s in pairs if s.is_new)
    results: dict[int, list[Stored]] = {}

    def sender(k: int) -> None:
        results[k] = [writer.write(message(f"S{k}", f"M{i}")) for i in range(25)]

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # a resend from another thread finds the first copy
    again = writer.write(message("S3", "M7"))
    engine.dispose()

    ids = [s.entry_id for k in range(12) for s in results[k]]
    assert all(s.is_new for k in range(12) for s in results[k])
    assert len(set(ids)) == 12 * 25
    for k in range(12):  # each sender's messages in the order it sent them
        mine = [s.entry_id for s in results[k]]
        assert mine == sorted(mine)
    assert handed_on == sorted(ids)  # handed to the applier in journal (commit) order
    assert not again.is_new and again.entry_id == results[3][7].entry_id
    engine = make_engine(database_url)
    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(InboundMessage))
    engine.dispose()
    assert stored == 12 * 25
    assert not writer.waiting()


def test_journal_commits_do_not_checkpoint_and_the_explicit_checkpoint_does(sqlite_url):
    engine = make_engine(sqlite_url, pool_size=2)
    factory = UnitOfWorkFactory(engine)
    writer = JournalWriter(factory)
    for i in range(400):  # several pages each: well past the 1,000-page threshold
        writer.write(message("S", f"C{i}", size=6000))

    with engine.connect() as conn:  # the pooled connection came back with the default
        value = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    assert value == WAL_AUTOCHECKPOINT_PAGES
    busy, log_frames, done = factory.checkpoint()
    engine.dispose()

    # No journal commit copied the log back (it would have restarted it, short again).
    assert WAL_AUTOCHECKPOINT_PAGES < log_frames < JOURNAL_AUTOCHECKPOINT_PAGES
    assert busy == 0 and done == log_frames
