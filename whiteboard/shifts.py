"""Nursing shifts: which shift a moment falls in, from the two start times in the settings.

A ward runs a day shift and a night shift (``day_shift_starts``, ``night_shift_starts``, UK
local time). A night shift belongs to the date it starts on, so 03:00 on the 2nd is the 1st's
night shift. Times are local so a shift keeps its wall-clock hours across the clock change
(that night is an hour longer or shorter, as it is on the ward).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from whiteboard.models.allocation import SHIFTS


@dataclass(frozen=True)
class ShiftTimes:
    day_starts: time
    night_starts: time
    tz: ZoneInfo

    @classmethod
    def from_settings(cls, settings: object) -> ShiftTimes:
        return cls(
            time.fromisoformat(settings.day_shift_starts),  # type: ignore[attr-defined]
            time.fromisoformat(settings.night_shift_starts),  # type: ignore[attr-defined]
            ZoneInfo(settings.timezone),  # type: ignore[attr-defined]
        )


@dataclass(frozen=True)
class Shift:
    date: date
    name: str  # day | night
    starts_at: datetime  # aware, local zone
    ends_at: datetime

    @property
    def label(self) -> str:
        return (
            f"{self.name.title()} shift {self.date.strftime('%a %d %b %Y')}, "
            f"{self.starts_at.strftime('%H:%M')} to {self.ends_at.strftime('%H:%M')}"
        )

    def to_dict(self) -> dict[str, str]:
        return {
            "date": self.date.isoformat(),
            "shift": self.name,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "label": self.label,
        }


def shift_of(day: date, name: str, times: ShiftTimes) -> Shift:
    """The named shift starting on ``day``."""
    if name not in SHIFTS:
        raise ValueError(f"shift must be one of {', '.join(SHIFTS)}")
    if name == "day":
        start = datetime.combine(day, times.day_starts, times.tz)
        end = datetime.combine(day, times.night_starts, times.tz)
    else:
        start = datetime.combine(day, times.night_starts, times.tz)
        end = datetime.combine(day + timedelta(days=1), times.day_starts, times.tz)
    return Shift(day, name, start, end)


def shift_at(moment: datetime, times: ShiftTimes) -> Shift:
    """The shift running at ``moment`` (any aware datetime)."""
    local = moment.astimezone(times.tz)
    t = local.time()
    if times.day_starts <= t < times.night_starts:
        return shift_of(local.date(), "day", times)
    if t >= times.night_starts:
        return shift_of(local.date(), "night", times)
    return shift_of(local.date() - timedelta(days=1), "night", times)
