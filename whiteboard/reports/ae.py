"""A&E 4-hour performance, breaches by responsible clinician and 12-hour waits on both clocks.

12-hour waits are counted on both clocks the board shows: 12 hours from arrival (NHS Standard
Contract) and the "trolley wait", 12 hours from the decision to admit (``stay_plan``) to
admission or leaving (NHS England A&E statistics). Both are the board's rule
(``ae_clock``): a wait is MORE than 720 minutes, exactly 720 complies. Both are counted on the
attendance's arrival day, like every other figure here.

Each attendance is counted on its local arrival day. The clock is the board's own rule
(``whiteboard.alerts.ae_clock``): a breach is MORE than the breach time after arrival, exactly
240 minutes complies. An attendance still in the department at ``now`` is counted with its
clock so far. A breach goes to the doctor responsible at the moment the 4 hours ran out
(arrival + 240 min, the board's ``ae_clock.responsible_at``): the latest entry of the
attendance's clinician history (``responsible_clinician``, appended at every handover) that
started at or before that moment. An attendance with no history counts its doctor on the record
from arrival, as the board does; one whose history starts only after the moment has no
responsible doctor then ("no doctor recorded").
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from config.clinical import ClinicalRules
from whiteboard.alerts.ae_clock import ae_clock, responsible_at
from whiteboard.alerts.facts import AttendanceFacts, DoctorInCharge
from whiteboard.models import Clinician, ResponsibleClinician, Stay, StayPlan
from whiteboard.reports.period import Period, local_midnight, week_start
from whiteboard.reports.sql_time import HOUR_MS, epoch_ms, to_ms
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


def rule_limits_ms(rules: ClinicalRules) -> tuple[int, int, int]:
    """The longest compliant lengths (4 h, 12 h from arrival, 12 h from decision to admit) as
    the board's rule gives them, in ms, checked against the rule at each edge.

    The database counts a length as a breach when it is MORE than its limit. Asking the rule
    about the limit itself and one millisecond past it proves it agrees, so a change to the
    rule (to "at least", or another limit) cannot silently part from the report.
    """
    clock = ae_clock(AttendanceFacts(arrived_at=EPOCH, decision_to_admit_at=EPOCH), EPOCH, rules)
    assert clock.trolley_breach_at is not None
    limits = (
        clock.breach_at - EPOCH,
        clock.twelve_hour_at - EPOCH,
        clock.trolley_breach_at - EPOCH,
    )
    for which, limit in enumerate(limits):
        for length, breached in ((limit, False), (limit + timedelta(milliseconds=1), True)):
            left = EPOCH + length
            att = AttendanceFacts(arrived_at=EPOCH, decision_to_admit_at=EPOCH, left_at=left)
            if _flags(att, left, rules)[which] is not breached:
                raise RuntimeError(
                    f"the A&E rule no longer counts a breach as MORE than {limit}: "
                    "update whiteboard/reports/ae.py to match it"
                )
    return tuple(to_ms(EPOCH + limit) - to_ms(EPOCH) for limit in limits)  # type: ignore[return-value]


def _check_handover_rule() -> None:
    """The database picks the doctor at a moment as the latest history entry starting at or
    before it; ask the board's rule about an entry starting exactly then and one a millisecond
    later, so a changed rule fails loudly instead of parting from the report."""
    before = DoctorInCharge(EPOCH - timedelta(hours=1), "OLD", "old")
    for start, expected in ((EPOCH, "NEW"), (EPOCH + timedelta(milliseconds=1), "OLD")):
        att = AttendanceFacts(
            arrived_at=EPOCH - timedelta(hours=4),
            responsible=(before, DoctorInCharge(start, "NEW", "new")),
        )
        doctor = responsible_at(att, EPOCH)
        if doctor is None or doctor.code != expected:
            raise RuntimeError(
                "the board's rule for the doctor in charge at a moment changed: "
                "update whiteboard/reports/ae.py (responsible_at_breach) to match it"
            )


def responsible_at_breach(breach_ms: int) -> Any:
    """The clinician id responsible when the attendance's 4 hours ran out: the latest history
    entry from that moment or before (ties: the later entry); with no history at all, the
    doctor on the record; NULL when the history starts only after the moment."""
    _check_handover_rule()
    at_breach = (
        select(ResponsibleClinician.clinician_id)
        .where(ResponsibleClinician.stay_id == Stay.id)
        .where(epoch_ms(ResponsibleClinician.from_time) <= epoch_ms(Stay.admitted_at) + breach_ms)
        .order_by(ResponsibleClinician.from_time.desc(), ResponsibleClinician.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    has_history = (
        select(ResponsibleClinician.id).where(ResponsibleClinician.stay_id == Stay.id).exists()
    )
    return case((has_history, at_breach), else_=Stay.clinician_id)


def ae_performance(
    session: Session, period: Period, tz: ZoneInfo, rules: ClinicalRules, now: datetime
) -> AePerformance:
    """Counts by the database per UTC hour of arrival (local days are whole UTC hours), so a
    year is a few thousand rows, not 150,000; attendances still in the department at ``now``
    and the 12-hour waits are read one by one and put through the rule itself."""
    start, end = period.bounds(tz)
    breach_ms, twelve_ms, trolley_ms = rule_limits_ms(rules)
    conn = session.connection()
    arrived, left = epoch_ms(Stay.admitted_at), epoch_ms(Stay.discharged_at)
    decided = epoch_ms(StayPlan.decision_to_admit_at)
    length = left - arrived
    finished = Stay.discharged_at.is_not(None) & (Stay.discharged_at <= now)

    def attendances(*columns: Any) -> Any:
        return (
            select(*columns)
            .outerjoin(StayPlan, StayPlan.stay_id == Stay.id)
            .where(Stay.patient_class == "E", Stay.state != "cancelled")
            .where(Stay.admitted_at >= start, Stay.admitted_at < end)
        )

    def over(value: Any, limit: int) -> Any:
        return func.sum(case((value > limit, 1), else_=0))

    hour = arrived // HOUR_MS
    by_hour = conn.execute(
        attendances(
            hour,
            func.count(),
            over(length, breach_ms),
            over(length, twelve_ms),
            func.sum(case((decided.is_not(None) & (left - decided > trolley_ms), 1), else_=0)),
        )
        .where(finished)
        .group_by(hour)
    ).all()
    responsible = responsible_at_breach(breach_ms)
    breaches_by_doctor = conn.execute(
        attendances(responsible, func.count())
        .where(finished, length > breach_ms)
        .group_by(responsible)
    ).all()
    # Read one by one: those still in the department at ``now`` (their clocks are running),
    # and finished ones long enough to be a 12-hour wait on either clock (the trolley clock
    # never runs longer than the arrival clock).
    one_by_one = conn.execute(
        attendances(
            Stay.id,
            fast_utc(Stay.admitted_at),
            fast_utc(Stay.discharged_at),
            responsible,
            fast_utc(StayPlan.decision_to_admit_at),
            finished,
        )
        .where(~finished | (length > min(twelve_ms, trolley_ms)))
        .order_by(Stay.admitted_at, Stay.id)
    ).all()
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
    midnight_hours = [to_ms(local_midnight(day, tz)) // HOUR_MS for day in days]
    day_counts = [
        (result.by_day[day], result.by_week[week_start(day)], result.total) for day in days
    ]
    by_clinician: dict[str, int] = defaultdict(int)
    for hour_no, count, breaches, twelves, trolleys in by_hour:
        for counts in day_counts[bisect_right(midnight_hours, hour_no) - 1]:
            counts.attendances += count
            # int(): PostgreSQL sums to a Decimal
            counts.breaches += int(breaches or 0)
            counts.twelve_hours += int(twelves or 0)
            counts.trolley_waits += int(trolleys or 0)
    for clinician_id, count in breaches_by_doctor:
        by_clinician[doctors.get(clinician_id, NO_DOCTOR)] += count
    for stay_id, arrived_at, left_at, clinician_id, decided_at, done in one_by_one:
        att = AttendanceFacts(
            arrived_at=arrived_at, left_at=left_at, decision_to_admit_at=decided_at
        )
        breached, twelve, trolley, minutes, trolley_minutes = _flags(att, now, rules)
        if not done:
            hour_no = to_ms(arrived_at) // HOUR_MS
            for counts in day_counts[bisect_right(midnight_hours, hour_no) - 1]:
                counts.attendances += 1
                counts.breaches += breached
                counts.twelve_hours += twelve
                counts.trolley_waits += trolley
            if breached:  # to the doctor in charge when the clock passed 4 h
                by_clinician[doctors.get(clinician_id, NO_DOCTOR)] += 1
        if twelve or trolley:
            result.twelve_hour_waits.append(
                {
                    "stay_id": stay_id,
                    "arrived_at": arrived_at.astimezone(tz),
                    "decision_to_admit_at": None
                    if decided_at is None
                    else decided_at.astimezone(tz),
                    "minutes": minutes,
                    "trolley_minutes": trolley_minutes,
                    "over_12h_from_arrival": twelve,
                    "trolley_wait": trolley,
                    "still_in_department": not done,
                }
            )
    result.breaches_by_clinician = dict(
        sorted(by_clinician.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    return result
