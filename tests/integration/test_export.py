"""``python run.py export``: every table, CSV and JSON, with a schema description."""

from __future__ import annotations

import csv
import json

import pytest

from config.cli import cli
from config.models import metadata
from tests.reports_fixture import build_hospital


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_writes_every_table_and_its_schema(services, runner, tmp_path, monkeypatch, fmt):
    with services.uow_factory() as uow:
        ids = build_hospital(uow.session, with_vte_table=False)
        uow.commit()
    out = tmp_path / "export"
    monkeypatch.setenv("WARDBOARD_DATABASE_URL", services.settings.database_url)
    result = runner.invoke(cli, ["export", "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output

    schema = json.loads((out / "schema.json").read_text())
    assert {t["name"] for t in schema["tables"]} == {t.name for t in metadata.sorted_tables}
    stay = next(t for t in schema["tables"] if t["name"] == "stay")
    assert stay["rows"] == len(ids)
    columns = {c["name"]: c for c in stay["columns"]}
    assert columns["id"]["primary_key"] and columns["patient_id"]["references"] == ["patient.id"]
    assert columns["discharged_at"]["nullable"]

    path = out / f"stay.{fmt}"
    if fmt == "csv":
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    else:
        rows = json.loads(path.read_text())
    assert len(rows) == len(ids)
    twice = next(r for r in rows if int(r["id"]) == ids["TWICE"])
    assert twice["admitted_at"] == "2026-10-24T22:00:00+00:00"  # UTC with its offset
    assert twice["discharged_at"] == "2026-10-26T01:00:00+00:00"


def test_export_to_an_unwritable_place_is_a_clear_error(services, runner, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("WARDBOARD_DATABASE_URL", services.settings.database_url)
    result = runner.invoke(cli, ["export", "--format", "csv", "--out", str(blocker / "x")])
    assert result.exit_code != 0
    assert "cannot write" in result.output and "Traceback" not in result.output
