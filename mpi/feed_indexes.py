"""Secondary indexes a GP-feed first load on SQLite builds once after its rows, not row by row.

Loading an empty index, the writer's time on SQLite is mostly B-tree upkeep: every feed row
adds ~6.6 blocking keys to the ``(key, patient_id)`` index at random places, an NHS number and
postcodes likewise, and once those indexes outgrow SQLite's page cache each insert reads and
dirties pages all over them (a 400k-row load wrote 4x slower per row than a 100k one).
``CREATE INDEX`` over the loaded table is one sort instead. So when a run starts on an empty
index (``mpi.gp_feed_bulk``), the indexes below are dropped, in one transaction, and built
again:

* ``VIEW_READ`` -- read by the run itself once its in-memory view no longer stands in for the
  tables (the view is let go at ``FIRST_LOAD_VIEW_PATIENTS``, or dropped because another writer
  changed the index): built again just before that view's first read;
* ``UNREAD`` -- never read by the run: built again at its end.

Kept throughout: primary keys, the identifiers' ``(authority, value)`` constraint, and the
indexes the writer's own statements look rows up by (a re-keyed patient's keys by
``patient_id``, names and addresses by ``patient_id`` for a view that reads them back).

Every way out builds them again: the run's end, including a failed run (``finally``); and,
for a process killed mid-load, the next run's start (``restore_missing``), so at worst the
index is slow to search (never wrong) until the next feed run. ``CREATE UNIQUE INDEX`` checks
the ``(key, patient_id)`` uniqueness over the whole table as it builds: a duplicate the run
wrote would fail the run there, loudly, rather than pass unnoticed.

PostgreSQL writes with ``COPY`` and is not writer-bound: nothing is dropped there.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Engine, Index, inspect

from mpi.audit import IdentityEvent
from mpi.history import BlockingKey, PatientAddress
from mpi.models import Patient, PatientIdentifier

# The tables whose indexes these are (imported so the metadata holds them).
_TABLES = (Patient, PatientIdentifier, PatientAddress, BlockingKey, IdentityEvent)

VIEW_READ = ("uq_mpi_blocking_key_key_patient_id", "ix_patient_nhs_number")
UNREAD = (
    "ix_patient_postcode",
    "ix_patient_created_at",
    "ix_patient_created_origin",
    "ix_patient_identifier_patient_id",
    "ix_mpi_patient_address_postcode",
    "ix_mpi_identity_event_at",
    "ix_mpi_identity_event_patient_id",
)
DEFERRED = (*VIEW_READ, *UNREAD)


def declared(name: str) -> Index:
    """The index of that name as the models declare it."""
    for model in _TABLES:
        for index in model.__table__.indexes:  # type: ignore[attr-defined]
            if index.name == name:
                return index
    raise KeyError(name)


def missing(conn: Connection, names: Iterable[str] = DEFERRED) -> list[str]:
    """Which of ``names`` the database does not hold."""
    inspector = inspect(conn)
    have: dict[str, set[str]] = {}
    out = []
    for name in names:
        table = declared(name).table.name  # type: ignore[union-attr]
        if table not in have:
            have[table] = {ix["name"] for ix in inspector.get_indexes(table) if ix["name"]}
        if name not in have[table]:
            out.append(name)
    return out


def restore_missing(engine: Engine) -> list[str]:
    """Build any deferred index a run left missing (a process killed mid-load); the names."""
    with engine.begin() as conn:
        names = missing(conn)
        for name in names:
            declared(name).create(conn)
    return names


class DeferredIndexes:
    """The indexes one run dropped, and building them again (each once, whatever calls it)."""

    def __init__(self, engine: Engine, dropped: Iterable[str] = ()) -> None:
        self.engine = engine
        self.dropped = list(dropped)

    @classmethod
    def for_run(cls, engine: Engine, first_load: bool) -> DeferredIndexes:
        """Drop ``DEFERRED`` for a first load on SQLite; otherwise drop nothing."""
        if not first_load or engine.dialect.name != "sqlite":
            return cls(engine)
        with engine.begin() as conn:
            names = [n for n in DEFERRED if n not in missing(conn)]
            for name in names:
                declared(name).drop(conn)
        return cls(engine, names)

    def restore(self, names: Iterable[str] = DEFERRED) -> bool:
        """Build again those of ``names`` this run dropped; whether any was."""
        todo = [n for n in names if n in self.dropped]
        if not todo:
            return False
        with self.engine.begin() as conn:
            for name in todo:
                declared(name).create(conn)
        self.dropped = [n for n in self.dropped if n not in todo]
        return True
