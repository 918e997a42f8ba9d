"""Length of stay of inpatients discharged in the period, and the 7/14/21+ day stays.

Length of stay is the alert rule's own (``whiteboard.alerts.long_stay.length_of_stay``): real
elapsed time in whole 24-hour days, so a stay over a clock change is not a day longer or
shorter than it was.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from whiteboard.alerts.facts import StayFacts
from whiteboard.alerts.long_stay import length_of_stay
from whiteboard.models import Stay
from whiteboard.reports.period import Period, local_midnight, week_start
from whiteboard.reports.sql_time import HOUR_MS, epoch_ms, to_ms

# Bins of whole days: (label, lowest day count, highest day count or None).
LOS_BINS: tuple[tuple[str, int, int | None], ...] = (
    ("0 days", 0, 0),
    ("1 day", 1, 1),
    ("2-3 days", 2, 3),
    ("4-6 days", 4, 6),
    ("7-13 days", 7, 13),
    ("14-20 days", 14, 20),
    ("21+ days", 21, None),
)
LONG_STAY_THRESHOLDS = (7, 14, 21)


@dataclass
class LosWeek:
    discharges: int = 0
    total_days: float = 0.0
    long_stays: dict[int, int] = field(
        default_factory=lambda: dict.fromkeys(LONG_STAY_THRESHOLDS, 0)
    )

    @property
    def mean_days(self) -> float | None:
        return None if not self.discharges else self.total_days / self.discharges


@dataclass
class LengthOfStay:
    discharges: int = 0
    distribution: dict[str, int] = field(default_factory=lambda: {b[0]: 0 for b in LOS_BINS})
    long_stays: dict[int, int] = field(
        default_factory=lambda: dict.fromkeys(LONG_STAY_THRESHOLDS, 0)
    )
    by_week: dict[date, LosWeek] = field(default_factory=dict)


def _bin(days: int) -> str:
    for label, low, high in LOS_BINS:
        if days >= low and (high is None or days <= high):
            return label
    raise AssertionError(days)


EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=100_000)
def _length(elapsed: timedelta) -> timedelta:
    """The alert rule's length of stay for a finished stay of this length, remembered per
    length (the rule is pure; times come to the minute, so lengths repeat)."""
    stay = StayFacts(admitted_at=EPOCH, discharged_at=EPOCH + elapsed)
    return length_of_stay(stay, EPOCH + elapsed)


DAY_MS = 86_400_000


def _check_rule_is_elapsed_time() -> None:
    """The database sums and bins ``discharged - admitted``. That is the rule's length of a
    finished stay (real elapsed time); check it at the edges of a day, so a change to the rule
    cannot silently part from the report."""
    for elapsed in (timedelta(days=7) - timedelta(milliseconds=1), timedelta(days=7)):
        if _length(elapsed) != elapsed:
            raise RuntimeError(
                "the length-of-stay rule is no longer real elapsed time: "
                "update whiteboard/reports/length_of_stay.py to match it"
            )


def length_of_stay_report(
    session: Session, period: Period, tz: ZoneInfo, now: datetime
) -> LengthOfStay:
    """Aggregated by the database: per UTC hour of discharge (local days are whole UTC
    hours) and per whole day of length, so a year is a few thousand rows."""
    _check_rule_is_elapsed_time()
    start, end = period.bounds(tz)
    length = epoch_ms(Stay.discharged_at) - epoch_ms(Stay.admitted_at)
    hour = epoch_ms(Stay.discharged_at) // HOUR_MS

    def discharged(*columns: Any) -> Any:
        return (
            select(*columns)
            .where(Stay.patient_class == "I", Stay.state == "discharged")
            .where(Stay.discharged_at >= start, Stay.discharged_at < end)
        )

    def at_least(days: int) -> Any:
        return func.sum(case((length >= days * DAY_MS, 1), else_=0))

    conn = session.connection()
    by_hour = conn.execute(
        discharged(
            hour,
            func.count(),
            func.sum(length),
            *(at_least(days) for days in LONG_STAY_THRESHOLDS),
        ).group_by(hour)
    ).all()
    whole_days = length // DAY_MS
    by_days = conn.execute(discharged(whole_days, func.count()).group_by(whole_days)).all()

    report = LengthOfStay()
    days = list(period.days())
    for day in days:
        report.by_week.setdefault(week_start(day), LosWeek())
    midnight_hours = [to_ms(local_midnight(day, tz)) // HOUR_MS for day in days]
    for hour_no, count, total_ms, *long_counts in by_hour:
        week = report.by_week[week_start(days[bisect_right(midnight_hours, hour_no) - 1])]
        week.discharges += count
        week.total_days += int(total_ms or 0) / DAY_MS  # PostgreSQL sums to a Decimal
        for threshold, n in zip(LONG_STAY_THRESHOLDS, long_counts, strict=True):
            week.long_stays[threshold] += int(n or 0)
            report.long_stays[threshold] += int(n or 0)
    for day_count, count in by_days:
        report.discharges += count
        report.distribution[_bin(max(0, int(day_count)))] += count
    return report
