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
from datetime import UTC, date, datetime, timedelta
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
from whiteboard.reports.sql_time import epoch_ms, from_ms, to_ms


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


PROBE = datetime(2000, 1, 1, tzinfo=UTC)  # the rule is asked about a set taken at this instant
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
    start_ms, end_ms, now_ms = to_ms(start), to_ms(end), to_ms(now)
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
    in_range = (Observation.taken_at >= start - longest, Observation.taken_at <= now)
    # Sets in time order (the taken_at index gives it): each set settles the one before it
    # in the same stay. Times as integer milliseconds (sql_time): a quarter of a million sets
    # a quarter would otherwise be as many datetime objects.
    rows = conn.execute(
        select(
            Observation.stay_id,
            epoch_ms(Observation.taken_at),
            *(getattr(Observation, name) for name in _PARAMS),
        )
        .where(*in_range)
        .order_by(Observation.taken_at, Observation.id)
    ).all()
    # One row per stay: when it ended, its ward, the patient's date of birth.
    stays: dict[int, tuple[int | None, int, date | None]] = {
        stay_id: (discharged, ward_id, born)
        for stay_id, discharged, ward_id, born in conn.execute(
            select(Stay.id, epoch_ms(Stay.discharged_at), Stay.ward_id, Patient.date_of_birth)
            .join(Patient, Patient.id == Stay.patient_id)
            .where(Stay.patient_class == "I", Stay.state != "cancelled")
            .where(Stay.id.in_(select(Observation.stay_id).where(*in_range).distinct()))
        )
    }
    ward_codes = dict(conn.execute(select(Ward.id, Ward.code)).all())
    # Where each stay was: its bed intervals that may hold a due time in the period.
    intervals: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for stay_id, ward_id, started in conn.execute(
        select(BedOccupancy.stay_id, BedOccupancy.ward_id, epoch_ms(BedOccupancy.started_at))
        .where(BedOccupancy.started_at < end)
        .where((BedOccupancy.ended_at.is_(None)) | (BedOccupancy.ended_at > start))
        .order_by(BedOccupancy.started_at)
    ):
        intervals[stay_id].append((started, ward_id))

    days = list(period.days())
    midnights = [to_ms(local_midnight(day, tz)) for day in days]
    weeks = [week_start(day) for day in days]
    report = ObservationsOnTime(wards=[])
    for week in weeks:
        report.by_week.setdefault(week, ObsCounts())

    def counts_for(moment: int, stay_id: int) -> list[ObsCounts]:
        week = weeks[bisect_right(midnights, moment) - 1]
        ward_id = stays[stay_id][1]
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

    def add(outcome: str, moment: int, stay_id: int) -> None:
        for counts in counts_for(moment, stay_id):
            setattr(counts, outcome, getattr(counts, outcome) + 1)

    # The rule is pure: the interval depends only on the set's values and the patient's age,
    # so it is asked once per distinct combination (a year repeats them a great deal).
    intervals_by_values: dict[tuple[object, ...], int | None] = {}

    def interval_ms(values: tuple[object, ...], age: int | None) -> int | None:
        key = (*values, age)
        if key not in intervals_by_values:
            named = dict(zip(_PARAMS, values, strict=True))
            named["spo2_scale"] = named["spo2_scale"] or 1
            stay = StayFacts(
                admitted_at=PROBE,
                age_years=age,
                observations=(ObservationSet(taken_at=PROBE, **named),),  # type: ignore[arg-type]
            )
            state = observation_state(stay, PROBE, rules)
            intervals_by_values[key] = (
                None if state.due_at is None else to_ms(state.due_at) - to_ms(PROBE)
            )
        return intervals_by_values[key]

    ages: dict[tuple[int, int], int | None] = {}  # (stay, local day number) -> age
    pending: dict[int, int] = {}  # stay -> when its next set is due (ms)
    for row in rows:
        stay_id, taken = row[0], row[1]
        if stay_id not in stays:
            continue  # an A&E or cancelled stay
        due = pending.pop(stay_id, None)
        if due is not None:
            add("on_time" if taken <= due else "late", due, stay_id)
        day_no = bisect_right(midnights, taken)
        age = ages.get((stay_id, day_no), -1)
        if age == -1:
            born = stays[stay_id][2]
            age = ages[(stay_id, day_no)] = age_on(born, from_ms(taken).astimezone(tz).date())
        gap = interval_ms(row[2:10], age)
        if gap is None:
            if start_ms <= taken < end_ms:
                add("continuous", taken, stay_id)
            continue
        if taken + gap < end_ms:
            pending[stay_id] = taken + gap
    for stay_id, due in pending.items():
        if due < start_ms:
            continue
        discharged = stays[stay_id][0]
        if discharged is not None and discharged <= due:
            continue  # left before the next set fell due
        add("not_taken" if now_ms > due else "not_yet_due", due, stay_id)
    report.wards = sorted(report.by_ward)
    report.by_ward = {w: report.by_ward[w] for w in report.wards}
    report.by_ward_week = dict(sorted(report.by_ward_week.items()))
    return report
