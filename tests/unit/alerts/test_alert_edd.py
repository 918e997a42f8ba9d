"""EDD: missing (amber 14 h, red 24 h), in the past (local date), review, discharge time, gating."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from config.clinical import ClinicalRules
from whiteboard.alerts.edd import edd_alert, edd_in_past, edd_is_current, edd_time_alert
from whiteboard.alerts.facts import StayFacts

RULES = ClinicalRules()
LONDON = ZoneInfo("Europe/London")
ADMITTED = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
S = timedelta(seconds=1)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("after", "level"),
    [
        (14 * H - S, None),
        (14 * H, "amber"),
        (24 * H - S, "amber"),
        (24 * H, "red"),
        (100 * H, "red"),
    ],
)
def test_missing_edd(after: timedelta, level: str | None) -> None:
    alert = edd_alert(StayFacts(admitted_at=ADMITTED), ADMITTED + after, RULES)
    if level is None:
        assert alert is None
    else:
        assert alert is not None
        assert (alert.code, alert.symbol, alert.label, alert.level) == ("edd", "E", "No EDD", level)


@pytest.mark.parametrize(
    ("now", "edd", "past"),
    [
        # 23:30 UTC on 30 March 2025 is 00:30 BST on 31 March: an EDD of the 30th is past
        (datetime(2025, 3, 30, 23, 30, tzinfo=UTC), date(2025, 3, 30), True),
        (datetime(2025, 3, 30, 22, 59, 59, tzinfo=UTC), date(2025, 3, 30), False),
        # 23:30 UTC on 26 October 2025 is 23:30 GMT: still the 26th
        (datetime(2025, 10, 26, 23, 30, tzinfo=UTC), date(2025, 10, 26), False),
        # 23:30 UTC on 25 October is 00:30 BST on the 26th
        (datetime(2025, 10, 25, 23, 30, tzinfo=UTC), date(2025, 10, 25), True),
        # today is never past, even at 23:59 local
        (datetime(2025, 7, 1, 23, 59, tzinfo=LONDON), date(2025, 7, 1), False),
        (datetime(2025, 7, 2, 0, 0, tzinfo=LONDON), date(2025, 7, 1), True),
    ],
)
def test_edd_in_the_past_uses_local_dates(now: datetime, edd: date, past: bool) -> None:
    stay = StayFacts(admitted_at=now - 30 * H, edd=edd, edd_reviewed_at=now - H)
    assert edd_in_past(stay, now, RULES) is past
    alert = edd_alert(stay, now, RULES)
    assert (alert is not None and alert.level == "red" and alert.label == "EDD past") is past
    assert edd_is_current(stay, now, RULES) is not past


def test_edd_in_the_past_in_another_zone() -> None:
    rules = ClinicalRules(timezone="America/Halifax")  # UTC-4 in summer
    now = datetime(2025, 7, 2, 2, 0, tzinfo=UTC)  # 23:00 on 1 July in Halifax
    stay = StayFacts(admitted_at=now - 30 * H, edd=date(2025, 7, 1), edd_reviewed_at=now)
    assert not edd_in_past(stay, now, rules)
    assert edd_in_past(stay, now, RULES)


@pytest.mark.parametrize(
    ("reviewed_ago", "current"),
    [(timedelta(0), True), (24 * H, True), (24 * H + S, False), (None, False)],
)
def test_current_means_reviewed_within_24_hours(
    reviewed_ago: timedelta | None, current: bool
) -> None:
    now = ADMITTED + 72 * H
    reviewed = None if reviewed_ago is None else now - reviewed_ago
    stay = StayFacts(admitted_at=ADMITTED, edd=date(2025, 1, 20), edd_reviewed_at=reviewed)
    assert edd_is_current(stay, now, RULES) is current
    alert = edd_alert(stay, now, RULES)
    if current:
        assert alert is None
    else:
        assert alert is not None
        assert (alert.level, alert.label) == ("amber", "EDD review")


def test_no_edd_is_not_current() -> None:
    assert not edd_is_current(StayFacts(admitted_at=ADMITTED), ADMITTED + H, RULES)


@pytest.mark.parametrize(
    ("now", "asked"),
    [
        # EDD 10 January 2025 counts from 00:00 GMT; asked for from 00:00 on the 8th
        (datetime(2025, 1, 7, 23, 59, 59, tzinfo=UTC), False),
        (datetime(2025, 1, 8, 0, 0, tzinfo=UTC), True),
        (datetime(2025, 1, 10, 11, 0, tzinfo=UTC), True),
    ],
)
def test_discharge_time_asked_for_within_48_hours(now: datetime, asked: bool) -> None:
    stay = StayFacts(admitted_at=ADMITTED, edd=date(2025, 1, 10), edd_reviewed_at=now)
    alert = edd_time_alert(stay, now, RULES)
    assert (alert is not None) is asked
    if alert is not None:
        assert (alert.code, alert.symbol, alert.level) == ("edd_time", "D", "amber")
    given = StayFacts(
        admitted_at=ADMITTED, edd=date(2025, 1, 10), edd_time=time(11, 0), edd_reviewed_at=now
    )
    assert edd_time_alert(given, now, RULES) is None


def test_discharge_time_window_across_clocks_going_forward() -> None:
    # EDD 31 March 2025 starts at 00:00 BST = 23:00 UTC on the 30th; 48 h before is 23:00 UTC
    # on the 28th (23:00 GMT), not midnight.
    stay = StayFacts(admitted_at=ADMITTED, edd=date(2025, 3, 31), edd_reviewed_at=ADMITTED)
    assert edd_time_alert(stay, datetime(2025, 3, 28, 22, 59, 59, tzinfo=UTC), RULES) is None
    assert edd_time_alert(stay, datetime(2025, 3, 28, 23, 0, tzinfo=UTC), RULES) is not None
