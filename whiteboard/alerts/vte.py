"""VTE risk assessment: amber from the clock start until done, red once the due time has passed.

"Within 14 h" includes the 14th hour: at exactly 14:00:00 the assessment is still in time, and
red starts the second after. Only patients the national collection counts (aged 16 and over)
get the alert; an unknown age is treated as adult so that a missing birth date never hides it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from config.clinical import ClinicalRules
from whiteboard.alerts.clock import as_utc, format_elapsed
from whiteboard.alerts.facts import StayFacts
from whiteboard.alerts.model import Alert

SOURCE = "NICE NG89 1.1.2; NHS England VTE data collection"
REASSESS_SOURCE = "NICE NG89 (reassess at consultant review or when the condition changes)"


def vte_counted(stay: StayFacts, rules: ClinicalRules) -> bool:
    return stay.age_years is None or stay.age_years >= rules.vte.min_age_years


def vte_clock_start(stay: StayFacts, rules: ClinicalRules) -> datetime:
    """Admission, or the decision to admit when so configured and recorded."""
    return _clock_start(stay, rules)[0]


def _clock_start(stay: StayFacts, rules: ClinicalRules) -> tuple[datetime, str]:
    if rules.vte.clock_start == "decision_to_admit" and stay.decision_to_admit_at is not None:
        return stay.decision_to_admit_at, "decision to admit"
    return stay.admitted_at, "admission"


def vte_due_at(stay: StayFacts, rules: ClinicalRules) -> datetime:
    return vte_clock_start(stay, rules) + timedelta(hours=rules.vte.due_hours)


def vte_met_standard(stay: StayFacts, now: datetime, rules: ClinicalRules) -> bool | None:
    """For the consultant email: True/False once known, None if not counted or still in time."""
    if not vte_counted(stay, rules):
        return None
    due_at = vte_due_at(stay, rules)
    if stay.vte_assessed_at is not None:
        return stay.vte_assessed_at <= due_at
    return False if as_utc(now, "now") > due_at else None


def vte_alert(stay: StayFacts, now: datetime, rules: ClinicalRules) -> Alert | None:
    now = as_utc(now, "now")
    if not vte_counted(stay, rules):
        return None
    if stay.vte_assessed_at is not None:
        return _reassessment_alert(stay)
    start, start_name = _clock_start(stay, rules)
    due_at = vte_due_at(stay, rules)
    if now > due_at:
        return Alert(
            code="vte",
            level="red",
            symbol="V",
            label="VTE overdue",
            detail=f"VTE assessment not done {format_elapsed(now - start)} after {start_name}",
            source=SOURCE,
            since=due_at,
            due_at=due_at,
        )
    return Alert(
        code="vte",
        level="amber",
        symbol="V",
        label="VTE due",
        detail=f"VTE assessment due by {due_at.isoformat()}",
        source=SOURCE,
        since=start,
        due_at=due_at,
    )


def _reassessment_alert(stay: StayFacts) -> Alert | None:
    assert stay.vte_assessed_at is not None
    triggers = [
        (when, why)
        for when, why in (
            (stay.consultant_reviewed_at, "consultant review"),
            (stay.condition_changed_at, "change in condition"),
        )
        if when is not None and when > stay.vte_assessed_at
    ]
    if not triggers:
        return None
    when, why = max(triggers)
    return Alert(
        code="vte",
        level="amber",
        symbol="V",
        label="VTE reassess",
        detail=f"Reassess VTE risk after {why}",
        source=REASSESS_SOURCE,
        since=when,
    )
