"""Order back-stop timers: not performed, not reported, not acknowledged."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from config.clinical import ClinicalRules, ResultRules
from whiteboard.alerts.facts import OrderFacts, StayFacts
from whiteboard.alerts.results import (
    radiograph_report_due_at,
    report_deadline,
    result_alert,
    result_alerts,
)

RULES = ClinicalRules()
LONDON = ZoneInfo("Europe/London")
MONDAY = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # a Monday in winter (GMT = UTC)
S = timedelta(seconds=1)
H = timedelta(hours=1)
D = timedelta(days=1)


def _order(**changes: object) -> OrderFacts:
    values: dict[str, object] = {"order_id": "ORD1", "kind": "lab", "ordered_at": MONDAY}
    values.update(changes)
    return OrderFacts(**values)  # type: ignore[arg-type]


# ---- ordered but not performed ------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "limit", "level"),
    [("critical", 1 * H, "red"), ("urgent", 12 * H, "amber"), ("routine", 24 * H, "amber")],
)
def test_not_performed(priority: str, limit: timedelta, level: str) -> None:
    order = _order(priority=priority)
    assert result_alert(order, MONDAY + limit, RULES) is None
    alert = result_alert(order, MONDAY + limit + S, RULES)
    assert alert is not None
    assert (alert.code, alert.symbol, alert.level, alert.ref) == ("result", "X", level, "ORD1")
    assert alert.label == "Lab not done"
    assert alert.due_at == MONDAY + limit


# ---- performed but not reported -----------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "limit"), [("critical", 1 * H), ("urgent", 12 * H), ("routine", 24 * H)]
)
def test_consultant_directed_report_times_run_from_the_request(
    priority: str, limit: timedelta
) -> None:
    order = _order(
        kind="imaging", modality="CT", consultant_directed=True, priority=priority,
        performed_at=MONDAY + limit / 2,
    )  # fmt: skip
    assert result_alert(order, MONDAY + limit, RULES) is None
    alert = result_alert(order, MONDAY + limit + S, RULES)
    assert alert is not None
    assert alert.label == "CT not reported"
    assert "Seven Day Services" in alert.source


def test_any_imaging_reported_within_4_weeks() -> None:
    order = _order(kind="imaging", modality="MR", performed_at=MONDAY)
    assert report_deadline(order, RULES) == (MONDAY + 28 * D, report_deadline(order, RULES)[1])  # type: ignore[index]
    assert result_alert(order, MONDAY + 28 * D, RULES) is None
    alert = result_alert(order, MONDAY + 28 * D + S, RULES)
    assert alert is not None and alert.label == "MR not reported"


def test_lab_without_consultant_direction_has_no_report_timer() -> None:
    order = _order(performed_at=MONDAY)
    assert report_deadline(order, RULES) is None
    assert result_alert(order, MONDAY + 60 * D, RULES) is None


@pytest.mark.parametrize(
    ("performed", "due"),
    [
        # Monday 09:00 -> Tuesday 09:00 (plain working days)
        (MONDAY, MONDAY + D),
        # Friday 15:00 GMT: 9 h on Friday, the weekend skipped, 15 h on Monday. Clocks go forward
        # on Sunday 30 March 2025, so Monday 15:00 BST is 14:00 UTC.
        (datetime(2025, 3, 28, 15, 0, tzinfo=UTC), datetime(2025, 3, 31, 14, 0, tzinfo=UTC)),
        # Saturday: the clock starts at Monday's midnight
        (datetime(2025, 1, 11, 10, 0, tzinfo=UTC), datetime(2025, 1, 14, 0, 0, tzinfo=UTC)),
        # Friday 15:00 BST before clocks go back on Sunday 26 October: Monday 15:00 GMT
        (datetime(2025, 10, 24, 15, 0, tzinfo=LONDON), datetime(2025, 10, 27, 15, 0, tzinfo=UTC)),
    ],
)
def test_inpatient_radiograph_24_hours_on_working_days(performed: datetime, due: datetime) -> None:
    assert radiograph_report_due_at(performed, RULES) == due
    order = _order(kind="imaging", modality="XR", performed_at=performed)
    assert result_alert(order, due, RULES) is None
    alert = result_alert(order, due + S, RULES)
    assert alert is not None
    assert alert.label == "X-ray not reported"
    assert "XR-508" in alert.source


def test_bank_holidays_are_not_working_days() -> None:
    # Easter 2025: Good Friday 18 April and Easter Monday 21 April.
    rules = ClinicalRules(results=ResultRules(holidays=(date(2025, 4, 18), date(2025, 4, 21))))
    performed = datetime(2025, 4, 17, 10, 0, tzinfo=LONDON)  # Thursday
    assert radiograph_report_due_at(performed, rules) == datetime(2025, 4, 22, 10, 0, tzinfo=LONDON)


def test_radiograph_clock_can_count_every_day() -> None:
    rules = ClinicalRules(results=ResultRules(radiograph_working_days_only=False))
    friday = datetime(2025, 1, 10, 15, 0, tzinfo=UTC)
    assert radiograph_report_due_at(friday, rules) == friday + D


def test_outpatient_radiograph_only_has_the_4_week_limit() -> None:
    order = _order(kind="imaging", modality="DX", performed_at=MONDAY, inpatient=False)
    assert result_alert(order, MONDAY + 10 * D, RULES) is None


def test_critical_order_not_reported_is_red() -> None:
    order = _order(kind="imaging", modality="CT", priority="critical", consultant_directed=True,
                   performed_at=MONDAY)  # fmt: skip
    assert result_alert(order, MONDAY + H + S, RULES).level == "red"  # type: ignore[union-attr]


# ---- reported but not acknowledged --------------------------------------------------------


def test_routine_result_red_after_n_hours_unacknowledged() -> None:
    order = _order(performed_at=MONDAY, reported_at=MONDAY + 2 * H)
    assert result_alert(order, MONDAY + 26 * H, RULES) is None
    alert = result_alert(order, MONDAY + 26 * H + S, RULES)
    assert alert is not None
    assert (alert.level, alert.label) == ("red", "Lab not acknowledged")
    rules = ClinicalRules(results=ResultRules(acknowledge_hours=4))
    assert result_alert(order, MONDAY + 6 * H + S, rules) is not None


@pytest.mark.parametrize(
    "changes",
    [
        {"result_urgency": "critical"},
        {"result_urgency": "urgent"},
        {"unexpected_significant": True},
        {"priority": "urgent"},
    ],
)
def test_critical_urgent_and_unexpected_results_escalate_at_once(
    changes: dict[str, object],
) -> None:
    order = _order(performed_at=MONDAY, reported_at=MONDAY + H, **changes)
    alert = result_alert(order, MONDAY + H, RULES)
    assert alert is not None
    assert alert.level == "red"
    assert alert.since == MONDAY + H
    assert alert.label == "Lab to review"


def test_acknowledged_or_cancelled_orders_are_quiet() -> None:
    reported = _order(performed_at=MONDAY, reported_at=MONDAY + H, result_urgency="critical")
    assert (
        result_alert(replace(reported, acknowledged_at=MONDAY + 2 * H), MONDAY + D, RULES) is None
    )
    assert result_alert(_order(cancelled=True), MONDAY + 5 * D, RULES) is None


def test_unacknowledged_results_outlive_the_stay() -> None:
    stay = StayFacts(
        admitted_at=MONDAY - D,
        discharged_at=MONDAY + 3 * H,
        orders=(
            _order(order_id="A", performed_at=MONDAY, reported_at=MONDAY + 5 * H),
            _order(order_id="B"),  # never performed: nothing to chase once the patient left
        ),
    )
    alerts = result_alerts(stay, MONDAY + 3 * D, RULES)
    assert [a.ref for a in alerts] == ["A"]


# ---- a result for an order we never saw (issue 4 item 2) ----------------------------------


@pytest.mark.parametrize(
    ("changes", "escalate", "at", "expected"),
    [
        # A final unmatched result: red "to review" at once, saying why.
        ({}, True, H, ("red", "Lab to review", "Unmatched result not acknowledged")),
        # The setting off: like any routine result, red after acknowledge_hours (24 h).
        ({}, False, H, None),
        ({}, False, 25 * H + S, ("red", "Lab not acknowledged", "not acknowledged")),
        # Critical still says critical; imaging flagged abnormal says unexpected significant.
        ({"result_urgency": "critical"}, True, H, ("red", "Lab to review", "Critical result")),
        (
            {"kind": "imaging", "modality": "XR", "unexpected_significant": True},
            False,
            H,
            ("red", "X-ray to review", "Unexpected significant result"),
        ),
        # Acknowledged: quiet. Only preliminary (not reported): no acknowledgement alert.
        ({"acknowledged_at": MONDAY + 2 * H}, True, 2 * H, None),
        ({"reported_at": None}, True, 2 * H, None),
    ],
)
def test_unmatched_result(
    changes: dict[str, object], escalate: bool, at: timedelta, expected: tuple | None
) -> None:
    values: dict[str, object] = {
        "performed_at": MONDAY + H,
        "reported_at": MONDAY + H,
        "unmatched": True,
        "ordered_at": MONDAY + H,
    }
    order = _order(**(values | changes))
    rules = ClinicalRules(results=ResultRules(unmatched_escalates_at_once=escalate))
    alert = result_alert(order, MONDAY + at, rules)
    if expected is None:
        assert alert is None
        return
    assert alert is not None
    level, label, detail = expected
    assert (alert.level, alert.label) == (level, label)
    assert detail in alert.detail
