"""Interoperability: an independent MLLP client from npm (simple-hl7) talks to our listener.

The test installs simple-hl7 with the machine's own npm into tests/interop/node_modules
(git-ignored) the first time; without node/npm it skips (CI installs them), and with
``WARDBOARD_REQUIRE_NPM=1`` a missing npm fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.hl7_builder import adt
from tests.integration.record_queries import stays

INTEROP = Path(__file__).resolve().parents[1] / "interop"


@pytest.fixture(scope="session")
def node_client() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        if os.environ.get("WARDBOARD_REQUIRE_NPM", "") in {"1", "true", "yes"}:
            pytest.fail("node/npm are missing (WARDBOARD_REQUIRE_NPM=1)")
        pytest.skip("node/npm are not installed")
    if not (INTEROP / "node_modules" / "simple-hl7").exists():
        result = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund"],
            cwd=INTEROP,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            pytest.skip(f"npm install simple-hl7 failed: {result.stderr.strip()[-300:]}")
    return INTEROP / "send.js"


def test_simple_hl7_client_exchanges_messages_with_our_listener(node_client, sqlite_live_server):
    messages = [
        adt("A01", control_id="NPM1").decode(),
        adt("A08", control_id="NPM2", family="JONES-SMITH").decode(),
        adt("ZZZ", control_id="NPM3").decode(),  # unsupported trigger: AR, still answered
    ]
    result = subprocess.run(
        ["node", str(node_client), "127.0.0.1", str(sqlite_live_server.mllp.port)],
        input=json.dumps(messages),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    acks = json.loads(result.stdout)
    assert acks == [
        {"code": "AA", "control_id": "NPM1"},
        {"code": "AA", "control_id": "NPM2"},
        {"code": "AR", "control_id": "NPM3"},
    ]
    assert stays(sqlite_live_server.services) == [("JONES-SMITH", "AMU", "A1", "active")]
