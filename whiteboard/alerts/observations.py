"""Observation state on the board (none recorded / due / overdue / continuous) and the NEWS2 badge.

The next set is due one minimum-frequency interval after the latest set, that interval coming
from the latest set's NEWS2 score. A total at or above the continuous threshold (7) is a
persistent red state that no later clock reading clears; only a new, lower-scoring set does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from config.clinical import ClinicalRules
from whiteboard.alerts.clock import as_utc, format_elapsed
from whiteboard.alerts.facts import StayFacts
from whiteboard.alerts.model import Alert, Level
from whiteboard.alerts.news2 import SOURCE as NEWS2_SOURCE
from whiteboard.alerts.news2 import News2Result, score_news2

ObsStateName = Literal["none_recorded", "ok", "due", "overdue", "continuous"]

SOURCE = f"{NEWS2_SOURCE}: minimum observation frequency"


@dataclass(frozen=True)
class ObservationState:
    state: ObsStateName
    latest_taken_at: datetime | None = None
    due_at: datetime | None = None  # None when none recorded or continuous
    news2: News2Result | None = None


def observation_state(stay: StayFacts, now: datetime, rules: ClinicalRules) -> ObservationState:
    now = as_utc(now, "now")
    latest = stay.latest_observation
    if latest is None:
        return ObservationState("none_recorded")
    news2 = score_news2(latest, rules, age_years=stay.age_years, pregnant=stay.pregnant)
    if news2.applicable and news2.continuous:
        return ObservationState("continuous", latest.taken_at, None, news2)
    frequency = news2.frequency or timedelta(hours=rules.obs.not_applicable_hours)
    due_at = latest.taken_at + frequency
    if now > due_at:
        state: ObsStateName = "overdue"
    elif now >= due_at - timedelta(minutes=rules.obs.due_soon_minutes):
        state = "due"
    else:
        state = "ok"
    return ObservationState(state, latest.taken_at, due_at, news2)


def observation_alert(stay: StayFacts, now: datetime, rules: ClinicalRules) -> Alert | None:
    obs = observation_state(stay, now, rules)
    now = as_utc(now, "now")
    if obs.state == "ok":
        return None
    if obs.state == "none_recorded":
        return Alert(
            code="obs",
            level="amber",
            symbol="O",
            label="No obs",
            detail="No observations recorded this stay",
            source=SOURCE,
            since=stay.admitted_at,
        )
    if obs.state == "continuous":
        total = obs.news2.total if obs.news2 else None
        return Alert(
            code="obs",
            level="red",
            symbol="O",
            label="Continuous obs",
            detail=f"NEWS2 {total}: continuous monitoring",
            source=SOURCE,
            since=obs.latest_taken_at,
        )
    assert obs.due_at is not None
    if obs.state == "due":
        return Alert(
            code="obs",
            level="amber",
            symbol="O",
            label="Obs due",
            detail=f"Next set due at {obs.due_at.isoformat()}",
            source=SOURCE,
            since=obs.due_at - timedelta(minutes=rules.obs.due_soon_minutes),
            due_at=obs.due_at,
        )
    return Alert(
        code="obs",
        level="red",
        symbol="O",
        label="Obs overdue",
        detail=f"Overdue by {format_elapsed(now - obs.due_at)}",
        source=SOURCE,
        since=obs.due_at,
        due_at=obs.due_at,
    )


_BAND_LEVEL: dict[str, Level] = {
    "low": "info",
    "low-medium": "amber",
    "medium": "red",
    "high": "red",
}


def news2_alert(stay: StayFacts, now: datetime, rules: ClinicalRules) -> Alert | None:
    """The latest score as a badge; an info badge says when NEWS2 does not apply."""
    as_utc(now, "now")
    latest = stay.latest_observation
    if latest is None:
        return None
    news2 = score_news2(latest, rules, age_years=stay.age_years, pregnant=stay.pregnant)
    if not news2.applicable:
        return Alert(
            code="news2",
            level="info",
            symbol="N",
            label="NEWS2 n/a",
            detail=f"NEWS2 does not apply ({news2.reason})",
            source=NEWS2_SOURCE,
            since=latest.taken_at,
        )
    assert news2.points is not None and news2.band is not None
    scored = ", ".join(f"{name} {p}" for name, p in news2.points.items() if p)
    detail = f"NEWS2 {news2.total} ({news2.band} risk)"
    if scored:
        detail += f": {scored}"
    if news2.missing:
        detail += f"; not recorded: {', '.join(news2.missing)}"
    return Alert(
        code="news2",
        level=_BAND_LEVEL[news2.band],
        symbol="N",
        label=f"NEWS2 {news2.total}{'+' if news2.missing else ''}",
        detail=detail,
        source=NEWS2_SOURCE,
        since=latest.taken_at,
    )
