"""VTE risk assessment within 14 hours of admission, against 95% (NHS Standard Contract).

Counted as the national collection does: admitted inpatients aged 16 and over (an unknown age
counts as adult, as the board's rule does), by local week of admission. Whether each met the
standard is the board's rule, ``whiteboard.alerts.vte.vte_met_standard``; one still within its
14 hours at ``now`` is "not yet due". The assessment times come from
``whiteboard.reports.vte.vte_assessments``: until the clinical-boards branch's table exists the
report says the data is not available and counts nobody.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.clinical import ClinicalRules
from mpi.models import Patient
from whiteboard.alerts.facts import StayFacts
from whiteboard.alerts.vte import vte_counted, vte_met_standard
from whiteboard.board.snapshot import age_on
from whiteboard.models import Stay
from whiteboard.reports.period import Period, local_date, week_start
from whiteboard.reports.timestamps import fast_utc
from whiteboard.reports.vte import vte_assessments


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


def vte_within_standard(
    session: Session, period: Period, tz: ZoneInfo, rules: ClinicalRules, now: datetime
) -> VteStandard:
    start, end = period.bounds(tz)
    rows = (
        session.connection()
        .execute(
            select(Stay.id, fast_utc(Stay.admitted_at), Patient.date_of_birth)
            .join(Patient, Patient.id == Stay.patient_id)
            .where(Stay.patient_class == "I", Stay.state != "cancelled")
            .where(Stay.admitted_at >= start, Stay.admitted_at < end)
        )
        .all()
    )
    data = vte_assessments(session, [row[0] for row in rows])
    report = VteStandard(data.available, rules.vte.standard_percent)
    for day in period.days():
        report.by_week.setdefault(week_start(day), VteCounts())
    if not data.available:
        return report
    for stay_id, admitted, born in rows:
        local_day = local_date(admitted, tz)
        stay = StayFacts(
            admitted_at=admitted,
            age_years=age_on(born, local_day),
            vte_assessed_at=data.assessed_at.get(stay_id),
        )
        if not vte_counted(stay, rules):
            continue
        met = vte_met_standard(stay, now, rules)
        for counts in (report.by_week[week_start(local_day)], report.total):
            counts.counted += 1
            if met is True:
                counts.met += 1
            elif met is False:
                counts.not_met += 1
            else:
                counts.not_yet_due += 1
    return report
