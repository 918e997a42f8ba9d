"""Shared fixtures: settings, a migrated database (SQLite, and PostgreSQL when available),
the app, its test client and CLI runner, and a live server with a real MLLP listener.

Tests that need PostgreSQL or Chromium skip with a reason on a machine without them; CI sets
WARDBOARD_REQUIRE_POSTGRES=1 and WARDBOARD_REQUIRE_BROWSER=1 so they fail there instead.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config.app import app_services, create_app
from config.db import make_engine
from config.layout import apply_layout, load_layout
from config.migrate import upgrade
from config.models import metadata
from config.settings import Settings

POSTGRES_ADMIN_URL = os.environ.get(
    "WARDBOARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TEST_LAYOUT = Path(__file__).parent / "data" / "test_layout.toml"


def _required(name: str) -> bool:
    return os.environ.get(name, "") in {"1", "true", "yes"}


def _skip_or_fail(reason: str, require_var: str) -> None:
    if _required(require_var):
        pytest.fail(f"{reason} (required because {require_var}=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated once."""
    admin_url = make_url(POSTGRES_ADMIN_URL)
    try:
        # pre-ping: the fault drills restart PostgreSQL under this session.
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        _skip_or_fail(
            f"PostgreSQL not reachable at {admin_url.host}:{admin_url.port}: {type(exc).__name__}",
            "WARDBOARD_REQUIRE_POSTGRES",
        )
    name = f"wardboard_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each integration test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.sqlite'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        return url
    url = request.getfixturevalue("postgres_server_url")
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'test.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def _make_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        instance_path=tmp_path,
        database_url=database_url,
        secret_key="test-secret",
        layout_file=str(TEST_LAYOUT),
        mllp_port=0,
        http_port=0,
        scheduler_enabled=False,
        cookie_secure=False,  # the test servers speak plain HTTP
    )


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return _make_settings(tmp_path, database_url)


def laid_out_app(settings: Settings):  # type: ignore[no-untyped-def]
    """The app with the test hospital's wards and beds in its database."""
    app = create_app(settings=settings)
    with app_services(app).uow_factory() as uow:
        apply_layout(uow.session, load_layout(settings.layout_file))
        uow.commit()
    return app


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    app = laid_out_app(settings)
    yield app
    app_services(app).stop()


@pytest.fixture
def services(app):  # type: ignore[no-untyped-def]
    return app_services(app)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


class LiveServer:
    """The app served over real HTTP/WebSocket on a free port, with a real MLLP listener."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        from werkzeug.serving import make_server

        self.app = app
        self.services = app_services(app)
        self.mllp = self.services.start_listener(port=0)
        from whiteboard.web.server import ClockedRequestHandler

        self._server = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=ClockedRequestHandler
        )
        self.http_port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture
def sqlite_app(tmp_path: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    """An app on SQLite only, for tests whose subject is not the database (browser, socket)."""
    app = laid_out_app(_make_settings(tmp_path, sqlite_url))
    yield app
    app_services(app).stop()


@pytest.fixture
def sqlite_live_server(sqlite_app) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    server = LiveServer(sqlite_app)
    yield server
    server.stop()


# Signed-on staff and kiosks (security) ---------------------------------------------------


@pytest.fixture
def make_staff(app):  # type: ignore[no-untyped-def]
    """make_staff(role, username=..., card=..., pin=..., practice=..., password=...) -> user."""
    from tests.auth_helpers import StaffMaker

    return StaffMaker(app_services(app))


@pytest.fixture
def staff_client(app, make_staff):  # type: ignore[no-untyped-def]
    """A test client signed on through the real sign-on form as a nurse."""
    from tests.auth_helpers import sign_on

    user = make_staff("nurse")
    client = app.test_client()
    sign_on(client, user.card, user.pin)
    return client


@pytest.fixture
def make_kiosk(app):  # type: ignore[no-untyped-def]
    """make_kiosk(ward) -> the kiosk token for that ward's wall board."""
    from tests.auth_helpers import kiosk_maker

    return kiosk_maker(app_services(app))


@pytest.fixture
def kiosk_client(app, make_kiosk):  # type: ignore[no-untyped-def]
    """A test client that opened the AMU wall board with its kiosk token."""
    client = app.test_client()
    response = client.get(f"/wards/AMU?kiosk={make_kiosk('AMU')}")
    assert response.status_code == 303
    return client


@pytest.fixture
def staff_token(app, make_staff):  # type: ignore[no-untyped-def]
    """A signed-on nurse's session token, for Socket.IO clients: auth={"signon": token}."""
    from tests.auth_helpers import open_session

    return open_session(app_services(app), make_staff("nurse"))


@pytest.fixture
def client_as(app, make_staff):  # type: ignore[no-untyped-def]
    """client_as(role) -> a test client signed on through the real sign-on form in that role."""
    from tests.auth_helpers import sign_on

    def make(role: str):  # type: ignore[no-untyped-def]
        from tests.auth_helpers import csrf_token

        user = make_staff(role)
        client = app.test_client()
        sign_on(client, user.card, user.pin)
        # Every later POST/PUT carries the session's CSRF token, as the pages' scripts do.
        page = "/patients" if role == "gp" else "/"  # a page this role may open
        client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client, page)
        return client

    return make
