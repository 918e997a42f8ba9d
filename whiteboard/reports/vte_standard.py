"""VTE risk assessment within 14 hours of admission, against 95% (NHS Standard Contract).

Counted as the national collection does: admitted inpatients aged 16 and over (an unknown age
counts as adult, as the board's rule does), by local week of admission. Whether each met the
standard is the board's rule, ``whiteboard.alerts.vte.vte_met_standard``; one still within its
14 hours at ``now`` is "not yet due". The assessment times come from the ``vte_assessment``
table (the earliest assessment of each stay), read in the same query.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.clinical import ClinicalRules
from mpi.models import Patient
from whiteboard.alerts.facts import StayFacts
from whiteboard.alerts.vte import vte_counted, vte_met_standard
from whiteboard.board.snapshot import age_on
from whiteboard.models import Stay, StayPlan, VteAssessment
from whiteboard.reports.period import Period, local_midnight, week_start
from whiteboard.reports.sql_time import epoch_ms, from_ms, to_ms


@dataclass
class VteCounts:
    counted: int = 0
    met: int = 0
    not_met: int = 0
    not_yet_due: int = 0

    @property
    def percent(self) -> float | None:
        decided = self.met + self.not_met
        return None if not decided else 100.0 * self.met / decided


@dataclass
class VteStandard:
    available: bool
    standard_percent: float
    by_week: dict[date, VteCounts] = field(default_factory=dict)
    total: VteCounts = field(default_factory=VteCounts)


PROBE = datetime(2000, 1, 1, tzinfo=UTC)


def vte_within_standard(
    session: Session, period: Period, tz: ZoneInfo, rules: ClinicalRules, now: datetime
) -> VteStandard:
    """One query (stays with their first assessment, times as integer ms), then the board's
    rule per stay. The rule is pure and depends only on times relative to admission and on
    age, so it is asked once per distinct (offsets, age) and a year of admissions costs a few
    thousand rule calls, not 60,000."""
    start, end = period.bounds(tz)
    first = (
        select(VteAssessment.stay_id, func.min(VteAssessment.assessed_at).label("assessed_at"))
        .group_by(VteAssessment.stay_id)
        .subquery()
    )
    rows = (
        session.connection()
        .execute(
            select(
                epoch_ms(Stay.admitted_at),
                Patient.date_of_birth,
                epoch_ms(first.c.assessed_at),
                epoch_ms(StayPlan.decision_to_admit_at),
            )
            .join(Patient, Patient.id == Stay.patient_id)
            .outerjoin(first, first.c.stay_id == Stay.id)
            .outerjoin(StayPlan, StayPlan.stay_id == Stay.id)
            .where(Stay.patient_class == "I", Stay.state != "cancelled")
            .where(Stay.admitted_at >= start, Stay.admitted_at < end)
        )
        .all()
    )
    report = VteStandard(True, rules.vte.standard_percent)
    days = list(period.days())
    for day in days:
        report.by_week.setdefault(week_start(day), VteCounts())
    midnights = [to_ms(local_midnight(day, tz)) for day in days]
    now_ms = to_ms(now)
    probe_ms = to_ms(PROBE)
    outcomes: dict[tuple[int | None, int | None, int | None], bool | None] = {}
    counted: dict[int | None, bool] = {}

    def ms(offset: int | None) -> datetime | None:
        return None if offset is None else from_ms(probe_ms + offset)

    for admitted, born, assessed, decided in rows:
        day = days[bisect_right(midnights, admitted) - 1]
        age = age_on(born, day)
        if age not in counted:
            counted[age] = vte_counted(StayFacts(admitted_at=PROBE, age_years=age), rules)
        if not counted[age]:
            continue
        # Relative to admission; "now" matters only while no assessment is recorded. Age
        # matters to the rule only as whether the patient is counted (vte_counted, above),
        # so the counted are asked about as of unknown age, which the rule counts too.
        key = (
            None if assessed is None else assessed - admitted,
            None if decided is None else decided - admitted,
            now_ms - admitted if assessed is None else None,
        )
        met = outcomes.get(key, ...)
        if met is ...:
            stay = StayFacts(
                admitted_at=PROBE,
                vte_assessed_at=ms(key[0]),
                decision_to_admit_at=ms(key[1]),
            )
            at = from_ms(probe_ms + (now_ms - admitted))
            met = outcomes[key] = vte_met_standard(stay, at, rules)
        for counts in (report.by_week[week_start(day)], report.total):
            counts.counted += 1
            if met is True:
                counts.met += 1
            elif met is False:
                counts.not_met += 1
            else:
                counts.not_yet_due += 1
    return report
