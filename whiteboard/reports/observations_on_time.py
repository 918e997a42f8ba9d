"""Observations on time: the % of observation sets that came when the NEWS2 frequency said.

The unit is a set that fell due. Every recorded set makes the next one due one minimum-frequency
interval later, the interval coming from that set's NEWS2 score: the board's own rule,
``whiteboard.alerts.observations.observation_state`` (never restated here). Each set keeps the
score the rule gave it when it was recorded, and the interval is a function of that score, so
the rule is asked once per distinct stored score about a real set that has it, and the database
does the counting. Each due set is counted on the local (UK) day and week it fell due, on the
ward the patient was on at that moment (the bed interval then; the stay's ward when the record
has no interval), as:

- on time: the next set was taken at or before the due time (exactly at it counts, as on the
  board, where "overdue" starts after it);
- late: the next set was taken after the due time;
- not taken: no later set, the patient still in at the due time, and the due time is past;
- left out: the patient left before the due time; not yet due at ``now``; and a set scoring
  the continuous-monitoring band (7+), which has no due time (counted apart as "continuous").

A stay's first set is not judged: no rule in CLINICAL_RULES.md says when it is due.
Real elapsed time throughout, so a set due 4 h after 01:00 BST on the night the clocks go back
is due at 04:00 GMT, three wall-clock hours later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.orm import Session

from config.clinical import ClinicalRules
from mpi.models import Patient
from whiteboard.alerts.facts import ObservationSet, StayFacts
from whiteboard.alerts.observations import observation_state
from whiteboard.board.snapshot import age_on
from whiteboard.models import BedOccupancy, Observation, Stay, Ward
from whiteboard.reports.period import Period, week_start
from whiteboard.reports.sql_time import HOUR_MS, epoch_ms, to_ms
from whiteboard.reports.timestamps import fast_utc


@dataclass
class ObsCounts:
    on_time: int = 0
    late: int = 0
    not_taken: int = 0
    continuous: int = 0
    not_yet_due: int = 0

    @property
    def due(self) -> int:
        return self.on_time + self.late + self.not_taken

    @property
    def percent(self) -> float | None:
        return None if not self.due else 100.0 * self.on_time / self.due


@dataclass
class ObservationsOnTime:
    wards: list[str]
    by_week: dict[date, ObsCounts] = field(default_factory=dict)
    by_ward: dict[str, ObsCounts] = field(default_factory=dict)
    by_ward_week: dict[tuple[str, date], ObsCounts] = field(default_factory=dict)
    total: ObsCounts = field(default_factory=ObsCounts)
    source: str = "direct"  # or "summary": read from the per-stay-day summary table


_PARAMS = (
    "respiration_rate",
    "spo2",
    "spo2_scale",
    "on_oxygen",
    "systolic_bp",
    "pulse",
    "consciousness",
    "temperature",
)


def _intervals_by_score(
    conn: Any, in_range: tuple[Any, ...], tz: ZoneInfo, rules: ClinicalRules
) -> dict[tuple[int | None, str | None], int | None]:
    """The interval (ms; None: continuous monitoring) for each NEWS2 score stored on the sets.

    Each set keeps the score the rule gave it when it was recorded (``news2_total``,
    ``news2_band``; both empty when NEWS2 did not apply). The interval is a function of that
    score, so the rule is asked once per distinct stored score, about one real set that has it
    (its own values and the patient's age then), instead of once per set.
    """
    reps = conn.execute(
        select(Observation.news2_total, Observation.news2_band, func.min(Observation.id))
        .where(*in_range)
        .group_by(Observation.news2_total, Observation.news2_band)
    ).all()
    if not reps:
        return {}
    sets = {
        row[0]: row
        for row in conn.execute(
            select(
                Observation.id,
                fast_utc(Observation.taken_at),
                Patient.date_of_birth,
                *(getattr(Observation, name) for name in _PARAMS),
            )
            .join(Stay, Stay.id == Observation.stay_id)
            .join(Patient, Patient.id == Stay.patient_id)
            .where(Observation.id.in_([rep[2] for rep in reps]))
        )
    }
    intervals: dict[tuple[int | None, str | None], int | None] = {}
    for total, band, rep_id in reps:
        _, taken, born, *values = sets[rep_id]
        named = dict(zip(_PARAMS, values, strict=True))
        named["spo2_scale"] = named["spo2_scale"] or 1
        stay = StayFacts(
            admitted_at=taken,
            age_years=age_on(born, taken.astimezone(tz).date()),
            observations=(ObservationSet(taken_at=taken, **named),),  # type: ignore[arg-type]
        )
        state = observation_state(stay, taken, rules)
        intervals[(total, band)] = (
            None if state.due_at is None else to_ms(state.due_at) - to_ms(taken)
        )
    return intervals


def longest_interval(rules: ClinicalRules) -> timedelta:
    """The longest interval the rule can give: a set taken this long before a moment cannot
    fall due after it."""
    obs = rules.obs
    return timedelta(
        hours=max(
            obs.score_zero_hours,
            obs.low_score_hours,
            obs.single_three_hours,
            obs.medium_score_hours,
            obs.not_applicable_hours,
        )
    )


@dataclass(frozen=True)
class DueSets:
    """The sets of inpatient stays paired with the next (``LEAD``), each with its due time, and
    the statements that count them: shared by the report and its summary table, so both count
    with the same SQL."""

    sets: Any
    due_ward: Any
    taken_ward: Any

    def count_if(self, condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    @property
    def on_time(self) -> Any:
        c = self.sets.c
        return c.next.is_not(None) & (c.next <= c.due)

    @property
    def late(self) -> Any:
        c = self.sets.c
        return c.next.is_not(None) & (c.next > c.due)

    @property
    def open(self) -> Any:
        """No later set and the patient still in when it fell due: not taken once the due
        time has passed, not yet due before it."""
        c = self.sets.c
        return c.next.is_(None) & (c.left.is_(None) | (c.left > c.due))

    @property
    def judged(self) -> Any:
        """Falls due, and not after the patient left (those are left out)."""
        c = self.sets.c
        return c.due.is_not(None) & (c.next.is_not(None) | c.left.is_(None) | (c.left > c.due))


def due_sets(
    conn: Any,
    in_range: tuple[Any, ...],
    tz: ZoneInfo,
    rules: ClinicalRules,
) -> DueSets | None:
    """``in_range`` limits the sets read (a time window, or some stays); None when there are
    none."""
    intervals = _intervals_by_score(conn, in_range, tz, rules)
    if not intervals:
        return None
    continuous = [
        (Observation.news2_total.is_(None) if t is None else Observation.news2_total == t)
        & (Observation.news2_band.is_(None) if b is None else Observation.news2_band == b)
        for (t, b), gap in intervals.items()
        if gap is None
    ]
    gap = case(
        *(
            (
                (Observation.news2_total.is_(None) if t is None else Observation.news2_total == t)
                & (Observation.news2_band.is_(None) if b is None else Observation.news2_band == b),
                ms,
            )
            for (t, b), ms in intervals.items()
            if ms is not None
        ),
        else_=None,
    )
    taken = epoch_ms(Observation.taken_at)
    sets = (
        select(
            Observation.stay_id.label("stay_id"),
            Stay.ward_id.label("stay_ward"),
            epoch_ms(Stay.discharged_at).label("left"),
            taken.label("taken"),
            (taken + gap).label("due"),
            (or_(*continuous) if continuous else literal(False)).label("continuous"),
            func.lead(taken)
            .over(partition_by=Observation.stay_id, order_by=(Observation.taken_at, Observation.id))
            .label("next"),
        )
        .join(Stay, Stay.id == Observation.stay_id)
        .where(Stay.patient_class == "I", Stay.state != "cancelled")
        .where(*in_range)
        .subquery()
    )

    def ward_at(moment: Any) -> Any:
        """The ward of the stay's bed interval at ``moment``, else the stay's ward."""
        interval_ward = (
            select(BedOccupancy.ward_id)
            .where(BedOccupancy.stay_id == sets.c.stay_id)
            .where(epoch_ms(BedOccupancy.started_at) <= moment)
            .order_by(BedOccupancy.started_at.desc())
            .limit(1)
            .scalar_subquery()
        )
        return func.coalesce(interval_ward, sets.c.stay_ward)

    return DueSets(sets, ward_at(sets.c.due), ward_at(sets.c.taken))


def observations_on_time(
    session: Session,
    period: Period,
    tz: ZoneInfo,
    rules: ClinicalRules,
    now: datetime,
    *,
    use_summary: bool = True,
) -> ObservationsOnTime:
    """Counted by the database: each set paired with the next in its stay (``LEAD``), its due
    time from its stored score's interval (the rule's, see ``_intervals_by_score``), grouped
    by the UTC hour it fell due (local days are whole UTC hours) and ward.

    When the per-stay-day summary (``observation_summary``) is built for this time zone and
    these rules, the counts are read from it instead: the same figures from a small table."""
    from whiteboard.reports import observation_summary

    report = ObservationsOnTime(wards=[])
    days = list(period.days())
    for day in days:
        report.by_week.setdefault(week_start(day), ObsCounts())
    conn = session.connection()
    if use_summary and observation_summary.usable(conn, tz, rules, now):
        rows = observation_summary.read_counts(conn, period, now)
        report.source = "summary"
    else:
        rows = _direct_counts(conn, period, tz, rules, now)
    if not rows:
        return report
    ward_codes = dict(conn.execute(select(Ward.id, Ward.code)).all())
    for day, ward_id, on_time, late, not_taken, not_yet_due, continuous in rows:
        week = week_start(day)
        ward = ward_codes.get(ward_id, "?")
        for counts in (
            report.by_week[week],
            report.by_ward.setdefault(ward, ObsCounts()),
            report.by_ward_week.setdefault((ward, week), ObsCounts()),
            report.total,
        ):
            counts.on_time += int(on_time or 0)
            counts.late += int(late or 0)
            counts.not_taken += int(not_taken or 0)
            counts.not_yet_due += int(not_yet_due or 0)
            counts.continuous += int(continuous or 0)
    report.wards = sorted(report.by_ward)
    report.by_ward = {w: report.by_ward[w] for w in report.wards}
    report.by_ward_week = dict(sorted(report.by_ward_week.items()))
    return report


CountRow = tuple[date, int, int, int, int, int, int]


def hour_to_day(hours: list[int], tz: ZoneInfo) -> dict[int, date]:
    """Local day of each UTC hour number (UK local midnights are whole UTC hours)."""
    return {h: datetime.fromtimestamp(h * 3600, tz=tz).date() for h in set(hours)}


def _direct_counts(
    conn: Any, period: Period, tz: ZoneInfo, rules: ClinicalRules, now: datetime
) -> list[CountRow]:
    """(local day, ward id, on time, late, not taken, not yet due, continuous) from the sets."""
    start, end = period.bounds(tz)
    start_ms, end_ms, now_ms = to_ms(start), to_ms(end), to_ms(now)
    in_range = (
        Observation.taken_at >= start - longest_interval(rules),
        Observation.taken_at <= now,
    )
    q = due_sets(conn, in_range, tz, rules)
    if q is None:
        return []
    c = q.sets.c
    due_hour = c.due // HOUR_MS
    by_due = conn.execute(
        select(
            due_hour,
            q.due_ward,
            q.count_if(q.on_time),
            q.count_if(q.late),
            q.count_if(q.open & (c.due < now_ms)),
            q.count_if(q.open & (c.due >= now_ms)),
        )
        .where(q.judged, c.due >= start_ms, c.due < end_ms)
        .group_by(due_hour, q.due_ward)
    ).all()
    taken_hour = c.taken // HOUR_MS
    by_continuous = conn.execute(
        select(taken_hour, q.taken_ward, func.count())
        .where(c.continuous, c.taken >= start_ms, c.taken < end_ms)
        .group_by(taken_hour, q.taken_ward)
    ).all()
    day_of = hour_to_day([r[0] for r in by_due] + [r[0] for r in by_continuous], tz)
    rows: list[CountRow] = [
        (day_of[hour], ward, on_time, late, not_taken, not_yet_due, 0)
        for hour, ward, on_time, late, not_taken, not_yet_due in by_due
    ]
    rows += [(day_of[hour], ward, 0, 0, 0, 0, n) for hour, ward, n in by_continuous]
    return rows
