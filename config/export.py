"""Export of every table to CSV or JSON, with a schema description: the hospital's data in a
form any analyst's tool reads, without Wardboard.

The list of tables and their columns comes from the SQLAlchemy metadata (the same one the
migrations are checked against), so a new table is exported without anyone remembering to add
it. Rows are streamed, so a year of history does not have to fit in memory. Times are written
as ISO 8601 in UTC with the offset (``2026-03-29T00:30:00+00:00``); binary columns as base64.
"""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, select

from config.models import metadata

SCHEMA_FILE = "schema.json"


@dataclass(frozen=True)
class ExportResult:
    tables: int
    rows: int


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return str(value)
    return value


def describe_table(table: Table) -> dict[str, Any]:
    return {
        "name": table.name,
        "description": (table.comment or "").strip(),
        "columns": [
            {
                "name": column.name,
                "type": str(column.type.compile())
                if _compilable(column)
                else type(column.type).__name__,
                "nullable": bool(column.nullable),
                "primary_key": bool(column.primary_key),
                "references": [fk.target_fullname for fk in column.foreign_keys],
            }
            for column in table.columns
        ],
    }


def _compilable(column: Any) -> bool:
    try:
        column.type.compile()
    except Exception:
        return False
    return True


def export_database(
    engine: Engine,
    out_dir: Path,
    fmt: str,
    progress: Callable[[str], None] | None = None,
) -> ExportResult:
    if fmt not in ("csv", "json"):
        raise ValueError(f"format must be csv or json, not {fmt!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    schema: dict[str, Any] = {
        "format": fmt,
        "exported_at": datetime.now().astimezone().isoformat(),
        "time_note": "timestamps are UTC (ISO 8601 with offset); show them in Europe/London",
        "tables": [],
    }
    total = 0
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            path = out_dir / f"{table.name}.{fmt}"
            count = 0
            rows = conn.execution_options(stream_results=True, yield_per=2000).execute(
                select(table).order_by(*table.primary_key.columns)
            )
            names = [c.name for c in table.columns]
            with path.open("w", newline="", encoding="utf-8") as fh:
                if fmt == "csv":
                    writer = csv.writer(fh)
                    writer.writerow(names)
                    for row in rows:
                        writer.writerow([_value(v) for v in row])
                        count += 1
                else:
                    fh.write("[\n")
                    for row in rows:
                        if count:
                            fh.write(",\n")
                        fh.write(json.dumps(dict(zip(names, map(_value, row), strict=True))))
                        count += 1
                    fh.write("\n]\n")
            description = describe_table(table)
            description.update(file=path.name, rows=count)
            schema["tables"].append(description)
            total += count
            if progress:
                progress(f"  {table.name}: {count} rows")
    (out_dir / SCHEMA_FILE).write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    return ExportResult(len(schema["tables"]), total)
