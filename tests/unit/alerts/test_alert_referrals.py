"""Community referrals: open 48 h before the EDD, due 24 h before it, red if not picked up."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from config.clinical import ClinicalRules
from whiteboard.alerts.facts import ReferralFacts, StayFacts
from whiteboard.alerts.referrals import referral_alerts, referral_window

RULES = ClinicalRules()
ADMITTED = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
EDD = date(2025, 1, 12)
EDD_TIME = time(14, 0)
EXPECTED = datetime(2025, 1, 12, 14, 0, tzinfo=UTC)  # GMT in January
S = timedelta(seconds=1)
H = timedelta(hours=1)


def _stay(*referrals: ReferralFacts, needs: tuple[str, ...] = ("physiotherapy",)) -> StayFacts:
    return StayFacts(
        admitted_at=ADMITTED, edd=EDD, edd_time=EDD_TIME, edd_reviewed_at=ADMITTED,
        post_discharge_needs=needs, referrals=referrals,
    )  # fmt: skip


def test_window_is_timed_back_from_the_edd() -> None:
    assert referral_window(_stay(), RULES) == (EXPECTED - 48 * H, EXPECTED - 24 * H)


@pytest.mark.parametrize(
    ("now", "level", "label"),
    [
        (EXPECTED - 48 * H - S, None, None),
        (EXPECTED - 48 * H, "amber", "Physio referral due"),
        (EXPECTED - 24 * H, "amber", "Physio referral due"),
        (EXPECTED - 24 * H + S, "red", "Physio referral not picked up"),
    ],
)
def test_not_sent(now: datetime, level: str | None, label: str | None) -> None:
    alerts = referral_alerts(_stay(), now, RULES)
    if level is None:
        assert alerts == []
    else:
        [alert] = alerts
        assert (alert.code, alert.symbol, alert.level, alert.label) == (
            "referral",
            "R",
            level,
            label,
        )
        assert alert.ref == "physiotherapy"
        assert alert.due_at == EXPECTED - 24 * H


def test_sent_but_not_picked_up_turns_red_at_due_time() -> None:
    sent = ReferralFacts(need="physiotherapy", sent_at=EXPECTED - 40 * H)
    [amber] = referral_alerts(_stay(sent), EXPECTED - 30 * H, RULES)
    assert (amber.level, amber.label) == ("amber", "Physio referral sent")
    [red] = referral_alerts(_stay(sent), EXPECTED - 24 * H + S, RULES)
    assert red.level == "red"
    assert "not picked up" in red.detail


def test_picked_up_is_done() -> None:
    done = ReferralFacts(need="physiotherapy", sent_at=ADMITTED, picked_up_at=ADMITTED + H)
    assert referral_alerts(_stay(done), EXPECTED, RULES) == []


def test_one_task_per_need() -> None:
    stay = _stay(
        ReferralFacts(need="district_nursing", sent_at=ADMITTED, picked_up_at=ADMITTED + H),
        needs=("physiotherapy", "social_services", "district_nursing", "dietary_monitoring"),
    )
    alerts = referral_alerts(stay, EXPECTED - 30 * H, RULES)
    assert [a.ref for a in alerts] == ["physiotherapy", "social_services", "dietary_monitoring"]


def test_no_edd_no_referral_timer() -> None:
    stay = StayFacts(admitted_at=ADMITTED, post_discharge_needs=("physiotherapy",))
    assert referral_alerts(stay, ADMITTED + 100 * H, RULES) == []


def test_without_a_time_the_edd_counts_from_local_midnight() -> None:
    stay = StayFacts(admitted_at=ADMITTED, edd=EDD, post_discharge_needs=("physiotherapy",))
    midnight = datetime(2025, 1, 12, 0, 0, tzinfo=UTC)
    assert referral_window(stay, RULES) == (midnight - 48 * H, midnight - 24 * H)
