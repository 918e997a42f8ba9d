"""VTE: amber from the clock start until done, red once 14 h have passed (to the second)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from config.clinical import ClinicalRules, VteRules
from whiteboard.alerts.facts import StayFacts
from whiteboard.alerts.vte import vte_alert, vte_due_at, vte_met_standard

RULES = ClinicalRules()
LONDON = ZoneInfo("Europe/London")
ADMITTED = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
S = timedelta(seconds=1)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("after", "level"),
    [
        (timedelta(0), "amber"),
        (13 * H, "amber"),
        (14 * H - S, "amber"),
        (14 * H, "amber"),  # "within 14 h" includes 14:00:00
        (14 * H + S, "red"),
        (40 * H, "red"),
    ],
)
def test_amber_until_14_hours_then_red(after: timedelta, level: str) -> None:
    stay = StayFacts(admitted_at=ADMITTED, age_years=70)
    alert = vte_alert(stay, ADMITTED + after, RULES)
    assert alert is not None
    assert (alert.code, alert.symbol, alert.level) == ("vte", "V", level)
    assert alert.due_at == ADMITTED + 14 * H


@pytest.mark.parametrize(("age", "alerted"), [(15, False), (16, True), (90, True), (None, True)])
def test_only_patients_16_and_over_counted(age: int | None, alerted: bool) -> None:
    stay = StayFacts(admitted_at=ADMITTED, age_years=age)
    assert (vte_alert(stay, ADMITTED + 20 * H, RULES) is not None) is alerted


def test_done_means_no_alert_even_if_late() -> None:
    stay = StayFacts(admitted_at=ADMITTED, age_years=70, vte_assessed_at=ADMITTED + 20 * H)
    assert vte_alert(stay, ADMITTED + 30 * H, RULES) is None
    assert vte_met_standard(stay, ADMITTED + 30 * H, RULES) is False


@pytest.mark.parametrize(
    ("assessed_after", "now_after", "met"),
    [
        (14 * H, 15 * H, True),
        (14 * H + S, 15 * H, False),
        (None, 14 * H, None),  # still in time: not yet known
        (None, 14 * H + S, False),
    ],
)
def test_standard_for_the_consultant_email(
    assessed_after: timedelta | None, now_after: timedelta, met: bool | None
) -> None:
    assessed = None if assessed_after is None else ADMITTED + assessed_after
    stay = StayFacts(admitted_at=ADMITTED, age_years=70, vte_assessed_at=assessed)
    assert vte_met_standard(stay, ADMITTED + now_after, RULES) is met


def test_under_16_not_counted_for_the_standard() -> None:
    stay = StayFacts(admitted_at=ADMITTED, age_years=12)
    assert vte_met_standard(stay, ADMITTED + 30 * H, RULES) is None


def test_clock_can_start_at_decision_to_admit() -> None:
    rules = ClinicalRules(vte=VteRules(clock_start="decision_to_admit"))
    dta = ADMITTED - 3 * H
    stay = StayFacts(admitted_at=ADMITTED, decision_to_admit_at=dta, age_years=70)
    assert vte_due_at(stay, rules) == dta + 14 * H
    alert = vte_alert(stay, dta + 14 * H + S, rules)
    assert alert is not None and alert.level == "red"
    assert "decision to admit" in alert.detail
    # by default the clock starts at admission
    assert vte_alert(stay, dta + 14 * H + S, RULES).level == "amber"  # type: ignore[union-attr]


def test_decision_to_admit_missing_falls_back_to_admission() -> None:
    rules = ClinicalRules(vte=VteRules(clock_start="decision_to_admit"))
    stay = StayFacts(admitted_at=ADMITTED, age_years=70)
    assert vte_due_at(stay, rules) == ADMITTED + 14 * H


@pytest.mark.parametrize(
    ("admitted_local", "amber_local", "red_local"),
    [
        # last Sunday of March 2025: 01:00 GMT -> 02:00 BST; 14 real hours end at 15:30 BST
        (
            datetime(2025, 3, 30, 0, 30),
            datetime(2025, 3, 30, 15, 30),
            datetime(2025, 3, 30, 15, 30, 1),
        ),
        # last Sunday of October 2025: 02:00 BST -> 01:00 GMT; 14 real hours end at 13:30 GMT
        (
            datetime(2025, 10, 26, 0, 30),
            datetime(2025, 10, 26, 13, 30),
            datetime(2025, 10, 26, 13, 30, 1),
        ),
    ],
)
def test_14_real_hours_across_daylight_saving(
    admitted_local: datetime, amber_local: datetime, red_local: datetime
) -> None:
    # Facts and clock given in local time share one ZoneInfo: the rule must still use real time.
    stay = StayFacts(admitted_at=admitted_local.replace(tzinfo=LONDON), age_years=50)
    amber = vte_alert(stay, amber_local.replace(tzinfo=LONDON), RULES)
    red = vte_alert(stay, red_local.replace(tzinfo=LONDON), RULES)
    assert amber is not None and amber.level == "amber"
    assert red is not None and red.level == "red"
    assert red.due_at == admitted_local.replace(tzinfo=LONDON).astimezone(UTC) + 14 * H


def test_october_wall_clock_would_be_wrong() -> None:
    # 00:30 BST to 14:00 GMT is 13.5 h on the wall clock but 14.5 real hours.
    stay = StayFacts(admitted_at=datetime(2025, 10, 26, 0, 30, tzinfo=LONDON), age_years=50)
    alert = vte_alert(stay, datetime(2025, 10, 26, 14, 0, tzinfo=LONDON), RULES)
    assert alert is not None and alert.level == "red"


@pytest.mark.parametrize(
    ("review_after", "change_after", "prompt"),
    [
        (None, None, False),
        (2 * H, None, False),  # review before the assessment: nothing new
        (5 * H, None, True),
        (None, 6 * H, True),
    ],
)
def test_reassessment_prompt(
    review_after: timedelta | None, change_after: timedelta | None, prompt: bool
) -> None:
    stay = StayFacts(
        admitted_at=ADMITTED,
        age_years=70,
        vte_assessed_at=ADMITTED + 3 * H,
        consultant_reviewed_at=None if review_after is None else ADMITTED + review_after,
        condition_changed_at=None if change_after is None else ADMITTED + change_after,
    )
    alert = vte_alert(stay, ADMITTED + 8 * H, RULES)
    if not prompt:
        assert alert is None
    else:
        assert alert is not None
        assert (alert.level, alert.label) == ("amber", "VTE reassess")


def test_due_hours_configurable() -> None:
    rules = ClinicalRules(vte=VteRules(due_hours=12))
    stay = StayFacts(admitted_at=ADMITTED, age_years=70)
    assert vte_alert(stay, ADMITTED + 12 * H + S, rules).level == "red"  # type: ignore[union-attr]
