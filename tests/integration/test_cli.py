"""run.py's commands: clear messages and exit codes, never a traceback."""

import subprocess
import sys
from pathlib import Path

from config.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def test_layout_apply(runner, sqlite_url, monkeypatch):
    monkeypatch.setenv("WARDBOARD_DATABASE_URL", sqlite_url)
    result = runner.invoke(cli, ["layout", "apply", str(ROOT / "tests/data/test_layout.toml")])
    assert result.exit_code == 0, result.output
    assert "applied 3 wards and 10 beds" in result.output


def test_missing_layout_file_is_a_clear_error(runner, sqlite_url, monkeypatch):
    monkeypatch.setenv("WARDBOARD_DATABASE_URL", sqlite_url)
    result = runner.invoke(cli, ["layout", "apply", "/no/such/layout.toml"])
    assert result.exit_code == 1
    assert "does not exist" in result.output
    assert "Traceback" not in result.output


def test_bad_setting_is_a_clear_error(runner, monkeypatch):
    monkeypatch.setenv("WARDBOARD_HTTP_PORT", "eighty")
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "WARDBOARD_HTTP_PORT" in result.output


def test_simulate_against_nothing_listening_says_so():
    result = subprocess.run(
        [sys.executable, "run.py", "simulate", "--port", "1", "--count", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "nothing is listening" in result.stderr
    assert "Traceback" not in result.stderr


def test_simulator_drives_a_listener(live_server):
    result = subprocess.run(
        [
            sys.executable,
            "run.py",
            "simulate",
            "--port",
            str(live_server.mllp.port),
            "--count",
            "40",
            "--rate",
            "200",
            "--seed",
            "7",
            "--no-fill",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            **__import__("os").environ,
            "WARDBOARD_LAYOUT_FILE": str(ROOT / "tests/data/test_layout.toml"),
        },
    )
    assert result.returncode == 0, result.stderr
    assert "sent 40 (AA 40)" in result.stdout
