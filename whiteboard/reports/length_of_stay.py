"""Length of stay of inpatients discharged in the period, and the 7/14/21+ day stays.

Length of stay is the alert rule's own (``whiteboard.alerts.long_stay.length_of_stay``): real
elapsed time in whole 24-hour days, so a stay over a clock change is not a day longer or
shorter than it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from whiteboard.alerts.facts import StayFacts
from whiteboard.alerts.long_stay import length_of_stay
from whiteboard.models import Stay
from whiteboard.reports.period import Period, local_date, week_start
from whiteboard.reports.timestamps import fast_utc

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


def length_of_stay_report(
    session: Session, period: Period, tz: ZoneInfo, now: datetime
) -> LengthOfStay:
    start, end = period.bounds(tz)
    rows = session.execute(
        select(fast_utc(Stay.admitted_at), fast_utc(Stay.discharged_at))
        .where(Stay.patient_class == "I", Stay.state == "discharged")
        .where(Stay.discharged_at >= start, Stay.discharged_at < end)
    ).all()
    report = LengthOfStay()
    for day in period.days():
        report.by_week.setdefault(week_start(day), LosWeek())
    for admitted, discharged in rows:
        los = _length(discharged - admitted)
        days = los.days
        week = report.by_week[week_start(local_date(discharged, tz))]
        report.discharges += 1
        report.distribution[_bin(days)] += 1
        week.discharges += 1
        week.total_days += los.total_seconds() / 86400
        for threshold in LONG_STAY_THRESHOLDS:
            if days >= threshold:
                report.long_stays[threshold] += 1
                week.long_stays[threshold] += 1
    return report
