"""Time arithmetic shared by the rules.

Elapsed time is real time, so every instant is normalised to UTC before any arithmetic:
subtracting two datetimes that share a ZoneInfo is wall-clock arithmetic in Python and would
make a 14-hour clock 13 or 15 hours long across a daylight-saving change. Local dates (an EDD
"in the past", working days) come from the configured zone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def as_utc(value: datetime, name: str = "datetime") -> datetime:
    """The same instant in UTC; a naive datetime is refused because its instant is unknown."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar date on the ward's clocks at ``moment``."""
    return as_utc(moment).astimezone(tz).date()


def local_moment(day: date, at: time | None, tz: ZoneInfo) -> datetime:
    """UTC instant of a local date and time (start of the day when no time is given)."""
    return datetime.combine(day, at or time(0), tzinfo=tz).astimezone(UTC)


def add_working_time(
    start: datetime, amount: timedelta, tz: ZoneInfo, is_working_day: Callable[[date], bool]
) -> datetime:
    """``start`` plus ``amount`` of real time counted only on local working days.

    A clock started on a non-working day begins at the next working day's midnight.
    """
    cursor = as_utc(start)
    remaining = amount
    for _ in range(3660):  # ten years of days: a calendar with no working days cannot loop
        day = local_date(cursor, tz)
        next_midnight = local_moment(day + timedelta(days=1), None, tz)
        if is_working_day(day):
            available = next_midnight - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
        cursor = next_midnight
    raise ValueError("no working day found within ten years; check the working-day settings")


def format_elapsed(delta: timedelta) -> str:
    """Board-style elapsed time: ``3h05`` (hours and minutes, rounded down), ``9d`` past 2 days."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds >= 2 * 86400:
        return f"{seconds // 86400}d"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}"
