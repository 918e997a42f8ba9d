"""A&E 4-hour performance, breaches by responsible clinician and 12-hour waits on both clocks.

12-hour waits are counted on both clocks the board shows: 12 hours from arrival (NHS Standard
Contract) and the "trolley wait", 12 hours from the decision to admit (``stay_plan``) to
admission or leaving (NHS England A&E statistics). Both are the board's rule
(``ae_clock``): a wait is MORE than 720 minutes, exactly 720 complies. Both are counted on the
attendance's arrival day, like every other figure here.

Each attendance is counted on its local arrival day. The clock is the board's own rule
(``whiteboard.alerts.ae_clock``): a breach is MORE than the breach time after arrival, exactly
240 minutes complies. An attendance still in the department at ``now`` is counted with its
clock so far. The responsible clinician is the doctor on the attendance record; the record does
not yet keep a history of handovers, so the breach goes to the doctor recorded last.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.clinical import ClinicalRules
from whiteboard.alerts.ae_clock import ae_clock
from whiteboard.alerts.facts import AttendanceFacts
from whiteboard.models import Clinician, Stay, StayPlan
from whiteboard.reports.period import Period, local_midnight, week_start
from whiteboard.reports.timestamps import fast_utc


@dataclass
class AeCounts:
    attendances: int = 0
    breaches: int = 0
    twelve_hours: int = 0
    trolley_waits: int = 0  # over 12 h from decision to admit

    @property
    def within(self) -> int:
        return self.attendances - self.breaches

    @property
    def percent_within(self) -> float | None:
        return None if not self.attendances else 100.0 * self.within / self.attendances


@dataclass
class AePerformance:
    standard_percent: float
    planning_percent: float
    by_day: dict[date, AeCounts] = field(default_factory=dict)
    by_week: dict[date, AeCounts] = field(default_factory=dict)
    breaches_by_clinician: dict[str, int] = field(default_factory=dict)
    twelve_hour_waits: list[dict[str, object]] = field(default_factory=list)
    total: AeCounts = field(default_factory=AeCounts)


EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
NO_DOCTOR = "(no doctor recorded)"


Flags = tuple[bool, bool, bool, int, int | None]


def _flags(att: AttendanceFacts, now: datetime, rules: ClinicalRules) -> Flags:
    """(4-h breach, 12 h from arrival, 12 h trolley wait, minutes, trolley minutes)."""
    clock = ae_clock(att, now, rules)
    minutes = int(clock.elapsed.total_seconds() // 60)
    trolley = None
    if clock.trolley_elapsed is not None:
        trolley = int(clock.trolley_elapsed.total_seconds() // 60)
    return clock.breached, clock.twelve_hour_breached, clock.trolley_breached, minutes, trolley


def ae_performance(
    session: Session, period: Period, tz: ZoneInfo, rules: ClinicalRules, now: datetime
) -> AePerformance:
    start, end = period.bounds(tz)
    rows = (
        session.connection()
        .execute(
            select(
                Stay.id,
                fast_utc(Stay.admitted_at),
                fast_utc(Stay.discharged_at),
                Stay.clinician_id,
                fast_utc(StayPlan.decision_to_admit_at),
            )
            .outerjoin(StayPlan, StayPlan.stay_id == Stay.id)
            .where(Stay.patient_class == "E", Stay.state != "cancelled")
            .where(Stay.admitted_at >= start, Stay.admitted_at < end)
        )
        .all()
    )
    doctors = {
        cid: f"{prefix or ''} {given[:1] + ' ' if given else ''}{family}".strip()
        for cid, prefix, given, family in session.execute(
            select(Clinician.id, Clinician.prefix, Clinician.given_names, Clinician.family_name)
        )
    }
    result = AePerformance(rules.ae.four_hour_standard_percent, rules.ae.four_hour_planning_percent)
    days = list(period.days())
    for day in days:
        result.by_day[day] = AeCounts()
        result.by_week.setdefault(week_start(day), AeCounts())
    # The local day of an arrival by bisection over the UTC instants of local midnights:
    # cheaper than a time-zone conversion per row, and exact across clock changes.
    midnights = [local_midnight(day, tz) for day in days]
    day_counts = [
        (result.by_day[day], result.by_week[week_start(day)], result.total) for day in days
    ]
    by_clinician: dict[str, int] = defaultdict(int)
    # The rule is pure and a finished attendance's result depends only on its length; HL7
    # times come to the minute, so a year has a few thousand distinct lengths. Evaluating the
    # board's rule once per length keeps a page within a second without restating the rule.
    by_length: dict[tuple[timedelta, timedelta | None], Flags] = {}
    for stay_id, arrived, left, clinician_id, decided in rows:
        if left is not None and left <= now:
            length = left - arrived
            offset = None if decided is None else decided - arrived
            flags = by_length.get((length, offset))
            if flags is None:
                att = AttendanceFacts(
                    arrived_at=EPOCH,
                    left_at=EPOCH + length,
                    decision_to_admit_at=None if offset is None else EPOCH + offset,
                )
                flags = by_length[(length, offset)] = _flags(att, EPOCH + length, rules)
        else:
            att = AttendanceFacts(arrived_at=arrived, left_at=left, decision_to_admit_at=decided)
            flags = _flags(att, now, rules)
        breached, twelve, trolley, minutes, trolley_minutes = flags
        for counts in day_counts[bisect_right(midnights, arrived) - 1]:
            counts.attendances += 1
            counts.breaches += breached
            counts.twelve_hours += twelve
            counts.trolley_waits += trolley
        if twelve or trolley:
            result.twelve_hour_waits.append(
                {
                    "stay_id": stay_id,
                    "arrived_at": arrived.astimezone(tz),
                    "decision_to_admit_at": None if decided is None else decided.astimezone(tz),
                    "minutes": minutes,
                    "trolley_minutes": trolley_minutes,
                    "over_12h_from_arrival": twelve,
                    "trolley_wait": trolley,
                    "still_in_department": left is None or left > now,
                }
            )
        if not breached:
            continue
        # The record keeps one doctor per attendance (no handover history yet), so the doctor
        # in charge when the clock passed 4 h (ae_clock.responsible_at) is that doctor.
        by_clinician[doctors.get(clinician_id, NO_DOCTOR)] += 1
    result.breaches_by_clinician = dict(
        sorted(by_clinician.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    return result
