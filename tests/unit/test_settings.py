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
