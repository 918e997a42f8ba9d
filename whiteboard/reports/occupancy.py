"""Bed occupancy from the stored bed-stay intervals: the midnight census and bed-days.

Midnight census (KH03 style): for each local day D, the patients on a ward at 00:00 local time
on D, i.e. intervals with ``started_at <= midnight < ended_at`` (an open interval is still
running). Fractional bed-days: each interval's time inside the period in real hours / 24, so a
6-hour stay counts 0.25 and a night when the clocks change counts 23 or 25 hours, as it was.
Bed-days are credited to the ward and to the consultant on the interval. A&E and clinic areas
are left out (they are not beds in the census). The record does not yet mark beds as overnight
or day-only, so the two are not counted apart.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from whiteboard.models import Bed, BedOccupancy, Clinician, Ward
from whiteboard.reports.period import Period, local_midnight, week_start
from whiteboard.reports.sql_time import epoch_ms, to_ms

NO_CONSULTANT = "(no consultant recorded)"
DAY_MS = 86_400_000


@dataclass
class Occupancy:
    wards: list[str]
    beds_by_ward: dict[str, int]
    census: dict[date, dict[str, int]] = field(default_factory=dict)
    bed_days_by_ward: dict[str, float] = field(default_factory=dict)
    bed_days_by_consultant: dict[str, float] = field(default_factory=dict)
    bed_days_by_week: dict[date, float] = field(default_factory=dict)

    def census_total(self, day: date) -> int:
        return sum(self.census[day].values())

    @property
    def total_beds(self) -> int:
        return sum(self.beds_by_ward.values())


def occupancy(session: Session, period: Period, tz: ZoneInfo, now: datetime) -> Occupancy:
    start, end = period.bounds(tz)
    wards = session.execute(
        select(Ward.id, Ward.code).where(Ward.kind == "ward").order_by(Ward.position, Ward.code)
    ).all()
    ward_code = dict(wards)
    beds = dict(
        session.execute(
            select(Ward.code, func.count(Bed.id))
            .join(Bed, Bed.ward_id == Ward.id)
            .where(Ward.kind == "ward")
            .group_by(Ward.code)
        ).all()
    )
    clinicians = {
        cid: f"{prefix or ''} {given[:1] + ' ' if given else ''}{family}".strip()
        for cid, prefix, given, family in session.execute(
            select(Clinician.id, Clinician.prefix, Clinician.given_names, Clinician.family_name)
        )
    }
    rows = session.execute(
        select(
            BedOccupancy.ward_id,
            BedOccupancy.clinician_id,
            epoch_ms(BedOccupancy.started_at),
            epoch_ms(BedOccupancy.ended_at),
        )
        .where(BedOccupancy.ward_id.in_(ward_code))
        .where(BedOccupancy.started_at < end)
        .where(or_(BedOccupancy.ended_at.is_(None), BedOccupancy.ended_at > start))
    ).all()
    report = Occupancy(
        wards=[code for _, code in wards],
        beds_by_ward={code: beds.get(code, 0) for _, code in wards},
    )
    # Times as integer ms (sql_time): a year of intervals in integer arithmetic, not datetimes.
    start_ms, end_ms, now_ms = to_ms(start), to_ms(end), to_ms(now)
    midnights = [(day, to_ms(local_midnight(day, tz))) for day in period.days()]
    for day, _ in midnights:
        report.census[day] = dict.fromkeys(report.wards, 0)
        report.bed_days_by_week.setdefault(week_start(day), 0.0)
    by_ward: dict[str, float] = defaultdict(float)
    by_consultant: dict[str, float] = defaultdict(float)
    instants = [midnight for _, midnight in midnights]
    week_bounds = [
        (
            week,
            to_ms(local_midnight(first, tz)),
            to_ms(local_midnight(last + timedelta(days=1), tz)),
        )
        for week, first, last in _weeks(period)
    ]
    week_starts = [w_start for _, w_start, _ in week_bounds]
    for ward_id, clinician_id, started, ended in rows:
        code = ward_code[ward_id]
        stop = ended if ended is not None else now_ms
        # Midnights m with started <= m < ended, found by bisection rather than a scan.
        first = bisect_left(instants, started)
        last = len(instants) if ended is None else bisect_left(instants, ended)
        for day, _ in midnights[first:last]:
            report.census[day][code] += 1
        inside = min(stop, end_ms) - max(started, start_ms)
        if inside <= 0:
            continue
        days = inside / DAY_MS
        by_ward[code] += days
        by_consultant[clinicians.get(clinician_id, NO_CONSULTANT)] += days
        # Only the weeks the interval overlaps (bisection, not a scan of every week).
        first_week = max(0, bisect_right(week_starts, started) - 1)
        for week, w_start, w_end in week_bounds[first_week:]:
            if w_start >= stop:
                break
            overlap = min(stop, w_end) - max(started, w_start)
            if overlap > 0:
                report.bed_days_by_week[week] += overlap / DAY_MS
    report.bed_days_by_ward = {code: by_ward.get(code, 0.0) for code in report.wards}
    report.bed_days_by_consultant = dict(sorted(by_consultant.items(), key=lambda kv: -kv[1]))
    return report


def _weeks(period: Period) -> list[tuple[date, date, date]]:
    """(week label, first day, last day) of each week, clipped to the period."""
    weeks: dict[date, list[date]] = {}
    for day in period.days():
        weeks.setdefault(week_start(day), []).append(day)
    return [(week, days[0], days[-1]) for week, days in weeks.items()]
