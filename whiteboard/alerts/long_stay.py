"""Long stays: 7+ days "stranded" (amber), 21+ days "super-stranded" (red).

Length of stay is real elapsed time since admission in whole 24-hour days, so a patient
becomes stranded exactly 7 x 24 h after admission, whatever the clocks did in between.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from config.clinical import ClinicalRules
from whiteboard.alerts.clock import as_utc
from whiteboard.alerts.facts import StayFacts
from whiteboard.alerts.model import Alert

SOURCE = "SAFER patient flow bundle; UEC daily situation report"


def length_of_stay(stay: StayFacts, now: datetime) -> timedelta:
    end = as_utc(now, "now")
    if stay.discharged_at is not None:
        end = min(end, stay.discharged_at)
    return max(timedelta(0), end - stay.admitted_at)


def long_stay_alert(stay: StayFacts, now: datetime, rules: ClinicalRules) -> Alert | None:
    days = length_of_stay(stay, now).days
    rules_ = rules.long_stay
    if days >= rules_.super_stranded_days:
        level, label, threshold = "red", f"Super-stranded {days}d", rules_.super_stranded_days
    elif days >= rules_.stranded_days:
        level, label, threshold = "amber", f"Stranded {days}d", rules_.stranded_days
    else:
        return None
    return Alert(
        code="long_stay",
        level=level,
        symbol="L",
        label=label,
        detail=f"In hospital {days} days (review every stay over {rules_.stranded_days} days)",
        source=SOURCE,
        since=stay.admitted_at + timedelta(days=threshold),
    )
