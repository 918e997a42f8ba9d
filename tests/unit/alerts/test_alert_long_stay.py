"""Length of stay: 7+ days stranded, 21+ days super-stranded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from config.clinical import ClinicalRules
from whiteboard.alerts.facts import StayFacts
from whiteboard.alerts.long_stay import length_of_stay, long_stay_alert

RULES = ClinicalRules()
ADMITTED = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
S = timedelta(seconds=1)
D = timedelta(days=1)


@pytest.mark.parametrize(
    ("after", "level", "label"),
    [
        (7 * D - S, None, None),
        (7 * D, "amber", "Stranded 7d"),
        (21 * D - S, "amber", "Stranded 20d"),
        (21 * D, "red", "Super-stranded 21d"),
        (40 * D, "red", "Super-stranded 40d"),
    ],
)
def test_thresholds(after: timedelta, level: str | None, label: str | None) -> None:
    alert = long_stay_alert(StayFacts(admitted_at=ADMITTED), ADMITTED + after, RULES)
    if level is None:
        assert alert is None
    else:
        assert alert is not None
        assert (alert.code, alert.symbol, alert.level, alert.label) == (
            "long_stay",
            "L",
            level,
            label,
        )


def test_seven_real_days_across_clocks_going_back() -> None:
    london = ZoneInfo("Europe/London")
    admitted = datetime(2025, 10, 20, 12, 0, tzinfo=london)  # BST
    # The same wall-clock time a week later (GMT) is 7 days and 1 hour later in real time.
    assert length_of_stay(StayFacts(admitted_at=admitted), admitted + 7 * D) == 7 * D + timedelta(
        hours=1
    )
    assert (
        long_stay_alert(
            StayFacts(admitted_at=admitted), datetime(2025, 10, 27, 10, 59, tzinfo=london), RULES
        )
        is None
    )
    assert (
        long_stay_alert(
            StayFacts(admitted_at=admitted), datetime(2025, 10, 27, 11, 0, tzinfo=london), RULES
        )
        is not None
    )
