"""Fixtures for tests that run the system as separate processes (tests/split_site.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.bootstrap import bootstrap
from config.settings import Settings
from tests.auth_helpers import StaffMaker, open_session
from tests.conftest import _skip_or_fail
from tests.split_site import Site

REDIS_URL = os.environ.get("WARDBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        _skip_or_fail(f"Redis not reachable at {REDIS_URL}: {exc}", "WARDBOARD_REQUIRE_REDIS")
    return REDIS_URL


@pytest.fixture
def site(tmp_path: Path, database_url: str, redis_url: str) -> Iterator[Site]:
    site = Site(tmp_path, database_url, redis_url)
    yield site
    site.stop()


@pytest.fixture
def nurse_token(site: Site) -> str:
    settings = Settings.from_env(site.env, board_push_enabled=False, scheduler_enabled=False)
    services = bootstrap(settings)
    try:
        return open_session(services, StaffMaker(services)("nurse"))
    finally:
        services.stop()
