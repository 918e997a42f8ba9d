"""Estimated discharge date: missing, in the past, not reviewed, and the discharge time.

Hours since admission are real elapsed time; whether the EDD is "in the past" is a question
about the ward's calendar, answered in the configured zone (an EDD of today is not in the
past, even at 23:59). Where a moment is needed and no expected time has been given, the EDD
counts from the start of its local day, so prompts that depend on it come early, not late.

``edd_is_current`` gates what a doctor may do (make referrals, update the board): the EDD is
set, not in the past, and reviewed within ``review_hours``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from config.clinical import ClinicalRules
from whiteboard.alerts.clock import as_utc, format_elapsed, local_date, local_moment
from whiteboard.alerts.facts import StayFacts
from whiteboard.alerts.model import Alert

MISSING_SOURCE = "Seven Day Services standards 2 and 3; NHS England 'reducing long stays'"
PAST_SOURCE = "derived: an EDD in the past must be updated"
REVIEW_SOURCE = "derived: EDD current means reviewed within the last 24 h"
TIME_SOURCE = "practice in Nova Scotia and NHS trusts"


def edd_moment(stay: StayFacts, rules: ClinicalRules) -> datetime | None:
    """UTC instant of the expected discharge (start of the EDD's local day without a time)."""
    if stay.edd is None:
        return None
    return local_moment(stay.edd, stay.edd_time, rules.tz)


def edd_in_past(stay: StayFacts, now: datetime, rules: ClinicalRules) -> bool:
    return stay.edd is not None and stay.edd < local_date(now, rules.tz)


def edd_review_due_at(stay: StayFacts, rules: ClinicalRules) -> datetime | None:
    if stay.edd_reviewed_at is None:
        return None
    return stay.edd_reviewed_at + timedelta(hours=rules.edd.review_hours)


def edd_is_current(stay: StayFacts, now: datetime, rules: ClinicalRules) -> bool:
    """Set, not in the past, and reviewed within ``review_hours`` (exactly 24 h still counts)."""
    now = as_utc(now, "now")
    review_due = edd_review_due_at(stay, rules)
    return (
        stay.edd is not None
        and not edd_in_past(stay, now, rules)
        and review_due is not None
        and now <= review_due
    )


def edd_alert(stay: StayFacts, now: datetime, rules: ClinicalRules) -> Alert | None:
    """The most pressing of: missing, in the past, not reviewed."""
    now = as_utc(now, "now")
    if stay.edd is None:
        return _missing_alert(stay, now, rules)
    if edd_in_past(stay, now, rules):
        became_past = local_moment(stay.edd + timedelta(days=1), None, rules.tz)
        return Alert(
            code="edd",
            level="red",
            symbol="E",
            label="EDD past",
            detail=f"EDD {stay.edd.isoformat()} is in the past: update it",
            source=PAST_SOURCE,
            since=became_past,
        )
    review_due = edd_review_due_at(stay, rules)
    if review_due is not None and now <= review_due:
        return None
    return Alert(
        code="edd",
        level="amber",
        symbol="E",
        label="EDD review",
        detail=(f"EDD {stay.edd.isoformat()} not reviewed in the last {rules.edd.review_hours} h"),
        source=REVIEW_SOURCE,
        since=review_due or stay.admitted_at,
        due_at=review_due,
    )


def _missing_alert(stay: StayFacts, now: datetime, rules: ClinicalRules) -> Alert | None:
    elapsed = now - stay.admitted_at
    amber_at = stay.admitted_at + timedelta(hours=rules.edd.missing_amber_hours)
    red_at = stay.admitted_at + timedelta(hours=rules.edd.missing_red_hours)
    if now < amber_at:
        return None
    red = now >= red_at
    return Alert(
        code="edd",
        level="red" if red else "amber",
        symbol="E",
        label="No EDD",
        detail=f"No estimated discharge date {format_elapsed(elapsed)} after admission",
        source=MISSING_SOURCE,
        since=red_at if red else amber_at,
        due_at=amber_at,
    )


def edd_time_alert(stay: StayFacts, now: datetime, rules: ClinicalRules) -> Alert | None:
    """Ask for the expected discharge time once the EDD is within ``discharge_time_hours``."""
    now = as_utc(now, "now")
    if stay.edd is None or stay.edd_time is not None or edd_in_past(stay, now, rules):
        return None
    expected = local_moment(stay.edd, None, rules.tz)
    ask_from = expected - timedelta(hours=rules.edd.discharge_time_hours)
    if now < ask_from:
        return None
    return Alert(
        code="edd_time",
        level="amber",
        symbol="D",
        label="Discharge time?",
        detail=f"EDD {stay.edd.isoformat()} is near: give the expected discharge time",
        source=TIME_SOURCE,
        since=ask_from,
        due_at=expected,
    )
