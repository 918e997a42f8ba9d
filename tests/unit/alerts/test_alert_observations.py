"""Observation state: none recorded, due, overdue, continuous; frequency from the latest set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from config.clinical import ClinicalRules
from whiteboard.alerts.facts import ObservationSet, StayFacts
from whiteboard.alerts.observations import news2_alert, observation_alert, observation_state

RULES = ClinicalRules()
ADMITTED = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
TAKEN = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)


def _obs(taken_at: datetime = TAKEN, **changes: object) -> ObservationSet:
    values: dict[str, object] = dict(
        taken_at=taken_at, respiration_rate=16, spo2=97, on_oxygen=False, systolic_bp=125,
        pulse=72, consciousness="A", temperature=37.0,
    )  # fmt: skip
    values.update(changes)
    return ObservationSet(**values)  # type: ignore[arg-type]


def _stay(*observations: ObservationSet, **changes: object) -> StayFacts:
    values: dict[str, object] = {"admitted_at": ADMITTED, "age_years": 60}
    values.update(changes)
    return StayFacts(observations=observations, **values)  # type: ignore[arg-type]


S = timedelta(seconds=1)
H = timedelta(hours=1)
M = timedelta(minutes=1)

# (latest set changes, now - taken_at, expected state, expected level or None for no alert)
STATES = [
    ({}, 11 * H + 44 * M, "ok", None),  # NEWS2 0: every 12 h; due 15 min before
    ({}, 11 * H + 45 * M, "due", "amber"),
    ({}, 12 * H, "due", "amber"),
    ({}, 12 * H + S, "overdue", "red"),
    ({"pulse": 95}, 3 * H + 44 * M, "ok", None),  # NEWS2 1: every 4 h
    ({"pulse": 95}, 4 * H, "due", "amber"),
    ({"pulse": 95}, 4 * H + S, "overdue", "red"),
    ({"consciousness": "C"}, 44 * M, "ok", None),  # single 3: hourly
    ({"consciousness": "C"}, H + S, "overdue", "red"),
    ({"pulse": 115, "on_oxygen": True, "temperature": 38.5}, H + S, "overdue", "red"),  # 5
    ({"pulse": 115, "on_oxygen": True, "temperature": 39.5, "spo2": 95}, timedelta(0),
     "continuous", "red"),  # 7: continuous, whatever the clock says
    ({"pulse": 115, "on_oxygen": True, "temperature": 39.5, "spo2": 95}, 30 * H,
     "continuous", "red"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "after", "state", "level"), STATES)
def test_states_from_latest_set(
    changes: dict[str, object], after: timedelta, state: str, level: str | None
) -> None:
    stay = _stay(_obs(**changes))
    assert observation_state(stay, TAKEN + after, RULES).state == state
    alert = observation_alert(stay, TAKEN + after, RULES)
    if level is None:
        assert alert is None
    else:
        assert alert is not None
        assert (alert.code, alert.level, alert.symbol) == ("obs", level, "O")


def test_none_recorded() -> None:
    stay = _stay()
    assert observation_state(stay, ADMITTED, RULES).state == "none_recorded"
    alert = observation_alert(stay, ADMITTED + H, RULES)
    assert alert is not None
    assert (alert.level, alert.label, alert.since) == ("amber", "No obs", ADMITTED)
    assert news2_alert(stay, ADMITTED + H, RULES) is None


def test_latest_set_decides_not_list_order() -> None:
    older_high = _obs(TAKEN - 2 * H, consciousness="U", pulse=140, on_oxygen=True)
    newer_normal = _obs(TAKEN)
    stay = _stay(newer_normal, older_high)
    state = observation_state(stay, TAKEN + H, RULES)
    assert state.state == "ok"
    assert state.due_at == TAKEN + 12 * H


def test_not_applicable_patients_still_get_due_and_overdue() -> None:
    child = _stay(_obs(pulse=140), age_years=9)
    assert observation_state(child, TAKEN + 4 * H, RULES).state == "due"
    assert observation_state(child, TAKEN + 4 * H + S, RULES).state == "overdue"
    badge = news2_alert(child, TAKEN, RULES)
    assert badge is not None
    assert (badge.level, badge.label) == ("info", "NEWS2 n/a")
    assert "under 16" in badge.detail


def test_pregnancy_shows_score_does_not_apply() -> None:
    badge = news2_alert(_stay(_obs(), pregnant=True, age_years=30), TAKEN, RULES)
    assert badge is not None
    assert badge.label == "NEWS2 n/a"
    assert "pregnant" in badge.detail


@pytest.mark.parametrize(
    ("changes", "label", "level"),
    [
        ({}, "NEWS2 0", "info"),
        ({"pulse": 95}, "NEWS2 1", "info"),
        ({"consciousness": "C"}, "NEWS2 3", "amber"),
        ({"pulse": 115, "on_oxygen": True, "temperature": 38.5}, "NEWS2 5", "red"),
        ({"pulse": 115, "on_oxygen": True, "temperature": 39.5, "spo2": 95}, "NEWS2 7", "red"),
        ({"temperature": None}, "NEWS2 0+", "info"),  # partial: a lower bound
    ],
)
def test_news2_badge(changes: dict[str, object], label: str, level: str) -> None:
    badge = news2_alert(_stay(_obs(**changes)), TAKEN, RULES)
    assert badge is not None
    assert (badge.code, badge.symbol, badge.label, badge.level) == ("news2", "N", label, level)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        observation_alert(_stay(_obs()), datetime(2025, 1, 6, 12, 0), RULES)
