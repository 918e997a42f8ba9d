"""Local reporting days and their UTC bounds.

A report day is a calendar day in the hospital's time zone (Europe/London), from local midnight
to the next local midnight: 23 hours on the day the clocks go forward, 25 on the day they go
back. Every query bounds times in UTC with these, so no day is ever a fixed 24 h.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Period:
    """Local calendar days ``start`` to ``end`` inclusive."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    def days(self) -> Iterator[date]:
        day = self.start
        while day <= self.end:
            yield day
            day += timedelta(days=1)

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        return local_midnight(self.start, tz), local_midnight(self.end + timedelta(days=1), tz)

    @classmethod
    def single_day(cls, day: date) -> Period:
        return cls(day, day)

    @classmethod
    def weeks_ending(cls, last_day: date, weeks: int) -> Period:
        """Whole ISO weeks (Monday to Sunday) up to the week containing ``last_day``."""
        week_end = last_day + timedelta(days=6 - last_day.weekday())
        return cls(week_end - timedelta(days=7 * weeks - 1), week_end)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant of 00:00 local time on ``day`` (midnight exists on every UK day)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def week_start(day: date) -> date:
    """The Monday of ``day``'s ISO week (weekly trends are labelled by it)."""
    return day - timedelta(days=day.weekday())
