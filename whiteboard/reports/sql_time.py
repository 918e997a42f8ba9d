"""Timestamps as integer milliseconds since 1970 (UTC), computed by the database.

Why: a year of reports reads hundreds of thousands of timestamps, and turning each into an
aware ``datetime`` in Python was most of a report's time. As integers the database can also
aggregate (sums of lengths, counts over a threshold, grouping by UTC hour) and Python does the
rest in integer arithmetic.

Exact to the millisecond on both databases: SQLite's ``julianday`` is a double whose error
here is about 0.04 ms, so rounding to whole milliseconds gives the stored value back;
PostgreSQL's ``EXTRACT(EPOCH ...)`` is exact. UK local midnights are always on a whole UTC
hour, so ``epoch_ms // HOUR_MS`` (the UTC hour) says which local day a moment is in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

HOUR_MS = 3_600_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class epoch_ms(FunctionElement[int]):
    """``epoch_ms(column)``: the column's instant in whole milliseconds since 1970-01-01Z."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_ms"


@compiles(epoch_ms, "sqlite")
def _sqlite(element: epoch_ms, compiler: Any, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"CAST(ROUND((julianday({arg}) - 2440587.5) * 86400000.0) AS INTEGER)"


@compiles(epoch_ms, "postgresql")
def _postgresql(element: epoch_ms, compiler: Any, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"CAST(ROUND(EXTRACT(EPOCH FROM {arg}) * 1000) AS BIGINT)"


def to_ms(moment: datetime) -> int:
    """The same number for a Python instant (aware)."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
