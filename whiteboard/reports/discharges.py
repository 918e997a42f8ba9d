"""Discharges before noon (SAFER: 33%), by local day and week.

"Before noon" is before ``rules.reports.noon`` in local time on the day of discharge, so a
discharge at 11:30 BST (10:30 UTC) and one at 11:30 GMT both count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.clinical import ClinicalRules
from whiteboard.models import Stay
from whiteboard.reports.period import Period, week_start
from whiteboard.reports.sql_time import epoch_ms, from_ms


@dataclass
class NoonCounts:
    discharges: int = 0
    before_noon: int = 0

    @property
    def percent(self) -> float | None:
        return None if not self.discharges else 100.0 * self.before_noon / self.discharges


@dataclass
class DischargesBeforeNoon:
    standard_percent: float
    by_day: dict[date, NoonCounts] = field(default_factory=dict)
    by_week: dict[date, NoonCounts] = field(default_factory=dict)
    total: NoonCounts = field(default_factory=NoonCounts)


def discharges_before_noon(
    session: Session, period: Period, tz: ZoneInfo, rules: ClinicalRules
) -> DischargesBeforeNoon:
    """Counted by the database per UTC hour of discharge. UK offsets are whole hours, so an
    hour is all on one local day and all before or all after noon (a noon setting that is not
    on the hour counts per minute, or per second, instead)."""
    start, end = period.bounds(tz)
    noon = rules.reports.noon
    size = 3_600_000 if noon.minute == noon.second == 0 else 60_000 if noon.second == 0 else 1000
    bucket = epoch_ms(Stay.discharged_at) // size
    rows = (
        session.connection()
        .execute(
            select(bucket, func.count())
            .where(Stay.patient_class == "I", Stay.state == "discharged")
            .where(Stay.discharged_at >= start, Stay.discharged_at < end)
            .group_by(bucket)
        )
        .all()
    )
    report = DischargesBeforeNoon(rules.reports.discharges_before_noon_percent)
    for day in period.days():
        report.by_day[day] = NoonCounts()
        report.by_week.setdefault(week_start(day), NoonCounts())
    for bucket_no, count in rows:
        local = from_ms(bucket_no * size).astimezone(tz)
        early = local.time() < noon
        day = local.date()
        for counts in (report.by_day[day], report.by_week[week_start(day)], report.total):
            counts.discharges += count
            counts.before_noon += count if early else 0
    return report
