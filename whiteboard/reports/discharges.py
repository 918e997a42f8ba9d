"""Discharges before noon (SAFER: 33%), by local day and week.

"Before noon" is before ``rules.reports.noon`` in local time on the day of discharge, so a
discharge at 11:30 BST (10:30 UTC) and one at 11:30 GMT both count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.clinical import ClinicalRules
from whiteboard.models import Stay
from whiteboard.reports.period import Period, local_date, week_start
from whiteboard.reports.timestamps import fast_utc


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
    start, end = period.bounds(tz)
    times = session.scalars(
        select(fast_utc(Stay.discharged_at))
        .where(Stay.patient_class == "I", Stay.state == "discharged")
        .where(Stay.discharged_at >= start, Stay.discharged_at < end)
    ).all()
    report = DischargesBeforeNoon(rules.reports.discharges_before_noon_percent)
    for day in period.days():
        report.by_day[day] = NoonCounts()
        report.by_week.setdefault(week_start(day), NoonCounts())
    noon = rules.reports.noon
    for moment in times:
        local = moment.astimezone(tz)
        early = local.time() < noon
        day = local_date(moment, tz)
        for counts in (report.by_day[day], report.by_week[week_start(day)], report.total):
            counts.discharges += 1
            counts.before_noon += early
    return report
