"""Database base class, engine creation and the column types every model shares.

SQLite is the embedded default (WAL, a busy timeout, foreign keys on); PostgreSQL is the
production database. Engines are only ever created by ``make_engine``, called from bootstrap.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database keeps.

    SQLite has no time zone type; naive datetimes would silently mean local time somewhere.
    Refusing naive values on the way in catches that mistake at the first write.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a time zone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(
    url: str, *, echo: bool = False, pool_size: int = 10, max_overflow: int = 20
) -> Engine:
    """Create the engine with the pragmas and transaction behaviour each backend needs.

    Each process keeps up to ``pool_size`` connections open and opens up to ``max_overflow``
    more under a burst; PostgreSQL's ``max_connections`` must cover every process's sum.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=max_overflow,
        )
        _configure_sqlite(engine)
        _plain_savepoints(engine)
        return engine
    engine = create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True
    )
    _plain_savepoints(engine)
    return engine


def _plain_savepoints(engine: Engine) -> None:
    """SAVEPOINT, RELEASE and ROLLBACK TO sent as the SQL strings SQLAlchemy would compile
    them to, rather than compiled again on every use (SQLAlchemy caches no compiled form of a
    savepoint clause). The HL7 applier opens a savepoint per message; compiling it and its
    RELEASE was about 40 microseconds of each apply on SQLite, 2 % of it.

    Overridden on this engine's dialect instance only; the names are SQLAlchemy's own
    (``sa_savepoint_N``), formatted by the dialect's preparer as its compiler does.
    """
    dialect = engine.dialect
    fmt = dialect.identifier_preparer.format_savepoint

    def savepoint(conn: Any, name: str) -> None:
        conn.exec_driver_sql(f"SAVEPOINT {fmt(None, name)}")

    def rollback_to(conn: Any, name: str) -> None:
        conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {fmt(None, name)}")

    def release(conn: Any, name: str) -> None:
        conn.exec_driver_sql(f"RELEASE SAVEPOINT {fmt(None, name)}")

    dialect.do_savepoint = savepoint  # type: ignore[method-assign]
    dialect.do_rollback_to_savepoint = rollback_to  # type: ignore[method-assign]
    dialect.do_release_savepoint = release  # type: ignore[method-assign]


def _configure_sqlite(engine: Engine) -> None:
    """WAL so boards read while HL7 writes; synchronous=FULL so an ACKed message survives a
    power cut; explicit BEGIN so write transactions are immediate.

    pysqlite's own transaction handling starts transactions late and cannot take the write lock
    up front; a writer that upgrades a read lock can fail at once with SQLITE_BUSY instead of
    waiting. The SQLAlchemy documentation's recipe: turn pysqlite's handling off and emit BEGIN
    ourselves. Sessions that will write ask for ``BEGIN IMMEDIATE`` through the
    ``sqlite_begin`` execution option (see ``config.unit_of_work``).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")
