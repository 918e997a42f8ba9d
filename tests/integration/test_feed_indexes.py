"""A GP-feed first load on SQLite builds some secondary indexes after its rows
(``mpi.feed_indexes``): whatever happens to the run, every index the schema declares is there
afterwards, and the decisions are those of the per-row path (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import mpi.feed_write as feed_write
import mpi.gp_feed_bulk as bulk_module
from bench.gp_feed_compare import snapshot
from config.models import metadata
from mpi.feed_indexes import DEFERRED, UNREAD, VIEW_READ, DeferredIndexes, missing
from mpi.gp_feed import import_file
from tests.integration.test_gp_feed_bulk import HARD_ROWS, _import, _wipe, _write


def _schema_diff(services) -> list:
    with services.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), metadata)


def _missing(services, names=DEFERRED) -> list[str]:
    with services.engine.connect() as conn:
        return missing(conn, names)


def _watch_writes(services, monkeypatch) -> list[list[str]]:
    """The deferred indexes missing as each chunk is written."""
    seen: list[list[str]] = []
    real = feed_write.write_chunk

    def watching(conn, writes):
        seen.append(missing(conn))
        real(conn, writes)

    monkeypatch.setattr(feed_write, "write_chunk", watching)
    return seen


def test_a_first_load_ends_with_every_declared_index(services, tmp_path, monkeypatch):
    path = _write(tmp_path / "gp.csv", HARD_ROWS, synthetic=200)
    per_row = _import(services, path, bulk=False)
    expected = snapshot(services)
    _wipe(services)
    assert _schema_diff(services) == []

    seen = _watch_writes(services, monkeypatch)
    # A small view limit: the view is let go mid-run and the database read again.
    monkeypatch.setattr(bulk_module, "FIRST_LOAD_VIEW_PATIENTS", 60)
    bulk = _import(services, path, chunk_size=25)

    sqlite = services.engine.dialect.name == "sqlite"
    # Dropped while the view stands in for the tables (SQLite only) ...
    assert seen[0] == (sorted(DEFERRED, key=DEFERRED.index) if sqlite else [])
    # ... the ones the run reads are back once it reads the database, the rest at the end.
    assert seen[-1] == (list(UNREAD) if sqlite else [])
    assert _missing(services) == [] and _schema_diff(services) == []
    assert bulk.counts == per_row.counts
    got = snapshot(services)
    for part in expected:
        assert got[part] == expected[part], f"{part} differ"

    # Not a first load: nothing is dropped.
    seen.clear()
    _import(services, path, chunk_size=25)
    assert all(m == [] for m in seen)


def test_an_interrupted_first_load_leaves_every_index(services, tmp_path, monkeypatch):
    path = _write(tmp_path / "gp.csv", HARD_ROWS[2:], synthetic=120)
    real = feed_write.write_chunk
    calls = []

    def failing(conn, writes):
        calls.append(missing(conn))
        if len(calls) == 3:
            raise RuntimeError("disk full")
        real(conn, writes)

    monkeypatch.setattr(feed_write, "write_chunk", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(services, path, chunk_size=20)
    assert calls[0] == (list(DEFERRED) if services.engine.dialect.name == "sqlite" else [])
    assert _missing(services) == [] and _schema_diff(services) == []


def test_a_run_killed_mid_load_has_its_indexes_built_by_the_next_run(services, tmp_path):
    """A process killed mid-load cannot build them: the next run does, before it decides."""
    path = _write(tmp_path / "gp.csv", HARD_ROWS[2:], synthetic=60)
    dropped = DeferredIndexes.for_run(services.engine, first_load=True)
    if services.engine.dialect.name != "sqlite":
        assert dropped.dropped == []
        return
    assert dropped.dropped == list(DEFERRED) and _missing(services) == list(DEFERRED)
    # Half a load is in (here: none), the process is gone; the next night's run:
    _import(services, path)
    assert _missing(services) == [] and _schema_diff(services) == []
    # The same if the next run goes row by row.
    DeferredIndexes.for_run(services.engine, first_load=True)
    _import(services, path, bulk=False)
    assert _missing(services) == [] and _schema_diff(services) == []


def test_restore_builds_each_index_once(sqlite_url):
    from config.db import make_engine
    from config.migrate import upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    dropped = DeferredIndexes.for_run(engine, first_load=True)
    assert dropped.restore(VIEW_READ) is True
    assert dropped.restore(VIEW_READ) is False
    with engine.connect() as conn:
        assert missing(conn) == list(UNREAD)
        names = {ix["name"] for ix in inspect(conn).get_indexes("mpi_blocking_key")}
    assert "uq_mpi_blocking_key_key_patient_id" in names
    dropped.restore()
    with engine.connect() as conn:
        assert missing(conn) == []
    engine.dispose()
