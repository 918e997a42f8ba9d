"""docs/analyst_readonly_role.sql on PostgreSQL: the analyst reads everything, writes nothing;
and SQLite's read-only URI as docs/ANALYSTS.md gives it."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from config.db import make_engine
from config.migrate import upgrade

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "analyst_readonly_role.sql"


@pytest.mark.postgres
def test_postgres_analyst_role_reads_but_cannot_write(postgres_server_url):
    import shutil

    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    url = make_url(postgres_server_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    _drop_roles(admin)
    try:
        subprocess.run(
            [
                "psql",
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                url.host or "127.0.0.1",
                "-p",
                str(url.port or 5432),
                "-U",
                url.username or "postgres",
                "-d",
                url.database or "",
                "-v",
                "analyst_password='analyst-test'",
                "-f",
                str(SCRIPT),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        analyst = create_engine(url.set(username="wardboard_analyst", password="analyst-test"))
        with analyst.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM stay")).scalar() >= 0
            with pytest.raises(DBAPIError, match="read-only"):
                conn.execute(text("DELETE FROM stay"))
        analyst.dispose()
    finally:
        _drop_roles(admin)
        admin.dispose()


def _drop_roles(admin) -> None:
    with admin.connect() as conn:
        for role in ("wardboard_analyst", "wardboard_readonly"):
            if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
                conn.execute(text(f"DROP OWNED BY {role} CASCADE"))
                conn.execute(text(f"DROP ROLE {role}"))


def test_sqlite_read_only_uri_refuses_writes(tmp_path):
    path = tmp_path / "wardboard.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert conn.execute("SELECT count(*) FROM stay").fetchone() == (0,)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("DELETE FROM stay")
    finally:
        conn.close()
