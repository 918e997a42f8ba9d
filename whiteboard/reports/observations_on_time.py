"""Observations on time: the % of observation sets that came when the NEWS2 frequency said.

The unit is a set that fell due. Every recorded set makes the next one due one minimum-frequency
interval later, the interval coming from that set's NEWS2 score: the board's own rule,
``whiteboard.alerts.observations.observation_state``, asked at the moment the set was taken
(never restated here). Each due set is counted on the local (UK) day and week it fell due, on
the ward the patient was on at that moment (the bed interval then; the stay's ward when the
record has no interval), as:

- on time: the next set was taken at or before the due time (exactly at it counts, as on the
  board, where "overdue" starts after it);
- late: the next set was taken after the due time;
- not taken: no later set, the patient still in at the due time, and the due time is past;
- left out: the patient left before the due time; not yet due at ``now``; and a set scoring
  the continuous-monitoring band (7+), which has no due time (counted apart as "continuous").

A stay's first set is not counted: no rule in CLINICAL_RULES.md says when it is due.
Real elapsed time throughout, so a set due 4 h after 01:00 BST on the night the clocks go back
is due at 04:00 GMT, three wall-clock hours later.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.clinical import ClinicalRules
from mpi.models import Patient
from whiteboard.alerts.facts import ObservationSet, StayFacts
from whiteboard.alerts.observations import observation_state
from whiteboard.board.snapshot import age_on
from whiteboard.models import BedOccupancy, Observation, Stay, Ward
from whiteboard.reports.period import Period, local_midnight, week_start
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


def observations_on_time(
    session: Session, period: Period, tz: ZoneInfo, rules: ClinicalRules, now: datetime
) -> ObservationsOnTime:
    start, end = period.bounds(tz)
    obs = rules.obs
    # The longest interval the rule can give: a set taken this long before the period cannot
    # fall due inside it.
    longest = timedelta(
        hours=max(
            obs.score_zero_hours,
            obs.low_score_hours,
            obs.single_three_hours,
            obs.medium_score_hours,
            obs.not_applicable_hours,
        )
    )
    conn = session.connection()
    rows = conn.execute(
        select(
            Observation.stay_id,
            fast_utc(Observation.taken_at),
            *(getattr(Observation, name) for name in _PARAMS),
            fast_utc(Stay.admitted_at),
            fast_utc(Stay.discharged_at),
            Stay.ward_id,
            Patient.date_of_birth,
        )
        .join(Stay, Stay.id == Observation.stay_id)
        .join(Patient, Patient.id == Stay.patient_id)
        .where(Stay.patient_class == "I", Stay.state != "cancelled")
        .where(Observation.taken_at >= start - longest, Observation.taken_at <= now)
        .order_by(Observation.stay_id, Observation.taken_at, Observation.id)
    ).all()
    ward_codes = dict(conn.execute(select(Ward.id, Ward.code)).all())
    # Where each stay was: its bed intervals that may hold a due time in the period.
    intervals: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for stay_id, ward_id, started in conn.execute(
        select(BedOccupancy.stay_id, BedOccupancy.ward_id, fast_utc(BedOccupancy.started_at))
        .where(BedOccupancy.started_at < end)
        .where((BedOccupancy.ended_at.is_(None)) | (BedOccupancy.ended_at > start))
        .order_by(BedOccupancy.started_at)
    ):
        intervals[stay_id].append((started, ward_id))

    days = list(period.days())
    midnights = [local_midnight(day, tz) for day in days]
    weeks = [week_start(day) for day in days]
    report = ObservationsOnTime(wards=[])
    for week in weeks:
        report.by_week.setdefault(week, ObsCounts())

    def counts_for(moment: datetime, stay_id: int, stay_ward: int) -> list[ObsCounts] | None:
        if not start <= moment < end:
            return None
        week = weeks[bisect_right(midnights, moment) - 1]
        ward_id = stay_ward
        for started, interval_ward in intervals.get(stay_id, ()):
            if started > moment:
                break
            ward_id = interval_ward
        ward = ward_codes.get(ward_id, "?")
        return [
            report.by_week[week],
            report.by_ward.setdefault(ward, ObsCounts()),
            report.by_ward_week.setdefault((ward, week), ObsCounts()),
            report.total,
        ]

    # The rule is pure: the interval depends only on the set's values and the patient's age,
    # so it is asked once per distinct combination (a year repeats them a great deal).
    intervals_by_values: dict[tuple[object, ...], timedelta | None] = {}

    def interval(row: tuple[object, ...], age: int | None) -> timedelta | None:
        key = (*row[2:10], age)
        if key not in intervals_by_values:
            taken = row[1]
            values = dict(zip(_PARAMS, row[2:10], strict=True))
            values["spo2_scale"] = values["spo2_scale"] or 1
            stay = StayFacts(
                admitted_at=taken,  # type: ignore[arg-type]
                age_years=age,
                observations=(ObservationSet(taken_at=taken, **values),),  # type: ignore[arg-type]
            )
            state = observation_state(stay, taken, rules)  # type: ignore[arg-type]
            intervals_by_values[key] = (
                None if state.due_at is None else state.due_at - taken  # type: ignore[operator]
            )
        return intervals_by_values[key]

    for i, row in enumerate(rows):
        stay_id, taken = row[0], row[1]
        discharged, stay_ward, born = row[11], row[12], row[13]
        age = age_on(born, taken.astimezone(tz).date())
        gap = interval(row, age)
        if gap is None:
            targets = counts_for(taken, stay_id, stay_ward)
            for counts in targets or ():
                counts.continuous += 1
            continue
        due_at = taken + gap
        if not start <= due_at < end:
            continue
        following = rows[i + 1] if i + 1 < len(rows) and rows[i + 1][0] == stay_id else None
        if following is not None:
            outcome = "on_time" if following[1] <= due_at else "late"
        elif discharged is not None and discharged <= due_at:
            continue  # left before the next set fell due
        elif now > due_at:
            outcome = "not_taken"
        else:
            outcome = "not_yet_due"
        for counts in counts_for(due_at, stay_id, stay_ward) or ():
            setattr(counts, outcome, getattr(counts, outcome) + 1)
    report.wards = sorted(report.by_ward)
    report.by_ward = {w: report.by_ward[w] for w in report.wards}
    report.by_ward_week = dict(sorted(report.by_ward_week.items()))
    return report
