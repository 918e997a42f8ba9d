"""Community referral tasks for post-discharge needs, timed back from the EDD.

A need (physiotherapy, dietary monitoring, social services, district nursing) opens a referral
task ``open_hours_before_edd`` before the expected discharge; the community team must pick it
up by ``due_hours_before_edd`` before it, and the alert is red after that. Without an EDD the
task cannot be timed; the EDD alert already asks for one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from config.clinical import ClinicalRules
from whiteboard.alerts.clock import as_utc
from whiteboard.alerts.edd import edd_moment
from whiteboard.alerts.facts import StayFacts
from whiteboard.alerts.model import Alert

SOURCE = "DHSC hospital discharge guidance (2024); seed"

NEED_LABELS = {
    "physiotherapy": "Physio",
    "dietary_monitoring": "Dietary",
    "social_services": "Social care",
    "district_nursing": "District nurse",
}


def referral_window(stay: StayFacts, rules: ClinicalRules) -> tuple[datetime, datetime] | None:
    """(opens, due) for every referral of this stay, or None without an EDD."""
    expected = edd_moment(stay, rules)
    if expected is None:
        return None
    return (
        expected - timedelta(hours=rules.referral.open_hours_before_edd),
        expected - timedelta(hours=rules.referral.due_hours_before_edd),
    )


def referral_alerts(stay: StayFacts, now: datetime, rules: ClinicalRules) -> list[Alert]:
    now = as_utc(now, "now")
    window = referral_window(stay, rules)
    if window is None:
        return []
    opens, due = window
    if now < opens:
        return []
    needs = dict.fromkeys([*stay.post_discharge_needs, *(r.need for r in stay.referrals)])
    alerts = []
    for need in needs:
        referrals = [r for r in stay.referrals if r.need == need]
        if any(r.picked_up_at is not None for r in referrals):
            continue
        name = NEED_LABELS.get(need, need.replace("_", " ").capitalize())
        sent = any(r.sent_at is not None for r in referrals)
        if now > due:
            level, label = "red", f"{name} referral not picked up"
            detail = "Referral sent but not picked up" if sent else "Referral not sent"
            since = due
        elif sent:
            level, label, detail, since = (
                "amber",
                f"{name} referral sent",
                "Awaiting pick-up",
                opens,
            )
        else:
            level, label, detail, since = "amber", f"{name} referral due", "Send referral", opens
        alerts.append(
            Alert(
                code="referral",
                level=level,
                symbol="R",
                label=label,
                detail=f"{detail} to the community team by {due.isoformat()}",
                source=SOURCE,
                since=since,
                due_at=due,
                ref=need,
            )
        )
    return alerts
