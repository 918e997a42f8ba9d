from pathlib import Path

import pytest

from config.settings import Settings


def test_defaults():
    s = Settings()
    assert (s.http_port, s.mllp_port) == (8000, 2575)
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("wardboard.sqlite")
    assert s.timezone == "Europe/London"


def test_environment_overrides_are_typed():
    s = Settings.from_env(
        {
            "WARDBOARD_HTTP_PORT": "9000",
            "WARDBOARD_SCHEDULER_ENABLED": "no",
            "WARDBOARD_MLLP_IDLE_TIMEOUT_SECONDS": "2.5",
            "WARDBOARD_INSTANCE_PATH": "/tmp/x",
        }
    )
    assert s.http_port == 9000
    assert s.scheduler_enabled is False
    assert s.mllp_idle_timeout_seconds == 2.5
    assert s.instance_path == Path("/tmp/x")
    assert s.database_url == "sqlite:////tmp/x/wardboard.sqlite"


def test_bad_value_names_the_variable():
    with pytest.raises(ValueError, match="WARDBOARD_HTTP_PORT"):
        Settings.from_env({"WARDBOARD_HTTP_PORT": "eighty"})


def test_database_pool_settings_reach_the_engine(tmp_path):
    from config.bootstrap import bootstrap

    settings = Settings.from_env(
        {
            "WARDBOARD_DATABASE_POOL_SIZE": "3",
            "WARDBOARD_DATABASE_MAX_OVERFLOW": "4",
            "WARDBOARD_INSTANCE_PATH": str(tmp_path),
        }
    )
    services = bootstrap(settings)
    try:
        assert (services.engine.pool.size(), services.engine.pool._max_overflow) == (3, 4)
    finally:
        services.engine.dispose()
