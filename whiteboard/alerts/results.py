"""The order back-stop: ordered -> performed -> reported -> acknowledged, each gap on a timer.

On paper the report came back to the requester's desk; here every gap has a deadline and an
alert until a named clinician acknowledges the result. Gaps before the report are amber (red
for a critical order); a report nobody has acknowledged is red, at once for critical, urgent or
unexpected-significant results, and for a result whose order we never saw
(``unmatched_escalates_at_once``), and after ``acknowledge_hours`` otherwise. Acknowledgement
alerts stay after discharge: an unread result is the classic miss.

The report deadline is the earliest that applies: consultant-directed tests (done and reported
within 1/12/24 h of the request, Seven Day Services standard 5), inpatient radiographs (24 h of
the examination counted on working days, RCR XR-508) and any imaging (4 weeks).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from config.clinical import WEEKDAY_NAMES, ClinicalRules
from whiteboard.alerts.clock import add_working_time, as_utc, format_elapsed
from whiteboard.alerts.facts import OrderFacts, StayFacts
from whiteboard.alerts.model import Alert, Level

PERFORM_SOURCE = "local timers after Seven Day Services standard 5"
CONSULTANT_SOURCE = "Seven Day Services standard 5"
RADIOGRAPH_SOURCE = "Royal College of Radiologists audit XR-508"
IMAGING_SOURCE = "NHS England imaging turnaround times (2023)"
ACK_SOURCE = "NPSA safer practice notice 16; RCR fail-safe alert standards"


def perform_due_at(order: OrderFacts, rules: ClinicalRules) -> datetime:
    hours = {
        "critical": rules.results.critical_perform_hours,
        "urgent": rules.results.urgent_perform_hours,
        "routine": rules.results.routine_perform_hours,
    }[order.priority]
    return order.ordered_at + timedelta(hours=hours)


def report_deadline(order: OrderFacts, rules: ClinicalRules) -> tuple[datetime, str] | None:
    """The earliest report deadline that applies, with its source; None if none applies yet."""
    r = rules.results
    deadlines: list[tuple[datetime, str]] = []
    if order.consultant_directed:
        hours = {
            "critical": r.critical_report_hours,
            "urgent": r.urgent_report_hours,
            "routine": r.routine_report_hours,
        }[order.priority]
        deadlines.append((order.ordered_at + timedelta(hours=hours), CONSULTANT_SOURCE))
    if order.performed_at is not None and order.kind == "imaging":
        deadlines.append(
            (order.performed_at + timedelta(days=r.imaging_report_days), IMAGING_SOURCE)
        )
        if order.is_radiograph and order.inpatient:
            deadlines.append(
                (radiograph_report_due_at(order.performed_at, rules), RADIOGRAPH_SOURCE)
            )
    return min(deadlines, default=None)


def radiograph_report_due_at(performed_at: datetime, rules: ClinicalRules) -> datetime:
    amount = timedelta(hours=rules.results.radiograph_report_hours)
    if not rules.results.radiograph_working_days_only:
        return as_utc(performed_at) + amount
    return add_working_time(performed_at, amount, rules.tz, lambda day: is_working_day(day, rules))


def is_working_day(day: date, rules: ClinicalRules) -> bool:
    return (
        WEEKDAY_NAMES[day.weekday()] in rules.results.working_days
        and day not in rules.results.holidays
    )


def escalates_at_once(order: OrderFacts, rules: ClinicalRules) -> bool:
    """Critical, urgent and unexpected-significant results, and (``unmatched_escalates_at_
    once``) a result for an order we never saw: no requester is on record to chase it."""
    return order.escalates_at_once or (
        order.unmatched and rules.results.unmatched_escalates_at_once
    )


def acknowledge_due_at(order: OrderFacts, rules: ClinicalRules) -> datetime | None:
    if order.reported_at is None:
        return None
    if escalates_at_once(order, rules):
        return order.reported_at
    return order.reported_at + timedelta(hours=rules.results.acknowledge_hours)


def result_alert(
    order: OrderFacts, now: datetime, rules: ClinicalRules, *, stay_open: bool = True
) -> Alert | None:
    """The alert for the first open gap of one order, if its timer has run out.

    ``stay_open=False`` (the patient has gone) keeps only acknowledgement alerts.
    """
    now = as_utc(now, "now")
    if order.cancelled or order.acknowledged_at is not None:
        return None
    if order.reported_at is not None:
        return _acknowledgement_alert(order, now, rules)
    if not stay_open:
        return None  # nothing to chase at the bedside; the department still has the order
    if order.performed_at is not None:
        return _report_alert(order, order.performed_at, now, rules)
    return _perform_alert(order, now, rules)


def result_alerts(stay: StayFacts, now: datetime, rules: ClinicalRules) -> list[Alert]:
    stay_open = stay.discharged_at is None or stay.discharged_at > as_utc(now, "now")
    alerts = (result_alert(o, now, rules, stay_open=stay_open) for o in stay.orders)
    return [a for a in alerts if a is not None]


def _acknowledgement_alert(order: OrderFacts, now: datetime, rules: ClinicalRules) -> Alert | None:
    assert order.reported_at is not None
    due_at = acknowledge_due_at(order, rules)
    assert due_at is not None
    name = _short_name(order)
    if escalates_at_once(order, rules):
        detail = f"{_escalation_reason(order)} result not acknowledged"
        return _alert(order, "red", f"{name} to review", detail, ACK_SOURCE, due_at)
    if now <= due_at:
        return None
    detail = f"Reported {format_elapsed(now - order.reported_at)} ago, not acknowledged"
    return _alert(order, "red", f"{name} not acknowledged", detail, ACK_SOURCE, due_at)


def _report_alert(
    order: OrderFacts, performed_at: datetime, now: datetime, rules: ClinicalRules
) -> Alert | None:
    deadline = report_deadline(order, rules)
    if deadline is None or now <= deadline[0]:
        return None
    due_at, source = deadline
    detail = f"Performed {format_elapsed(now - performed_at)} ago, not reported"
    return _alert(
        order, _gap_level(order), f"{_short_name(order)} not reported", detail, source, due_at
    )


def _perform_alert(order: OrderFacts, now: datetime, rules: ClinicalRules) -> Alert | None:
    due_at = perform_due_at(order, rules)
    if now <= due_at:
        return None
    detail = (
        f"{order.priority.capitalize()} order placed "
        f"{format_elapsed(now - order.ordered_at)} ago, not performed"
    )
    return _alert(
        order, _gap_level(order), f"{_short_name(order)} not done", detail, PERFORM_SOURCE, due_at
    )


def _gap_level(order: OrderFacts) -> Level:
    return "red" if order.priority == "critical" else "amber"


def _alert(
    order: OrderFacts, level: Level, label: str, detail: str, source: str, due_at: datetime
) -> Alert:
    """An order alert; its state began when the deadline passed (or at once: due_at = report)."""
    if order.description:
        detail = f"{order.description}: {detail}"
    return Alert(
        code="result",
        level=level,
        symbol="X",
        label=label,
        detail=detail,
        source=source,
        since=due_at,
        due_at=due_at,
        ref=order.order_id,
    )


def _short_name(order: OrderFacts) -> str:
    if order.is_radiograph:
        return "X-ray"
    if order.kind == "imaging":
        return order.modality.upper() if order.modality else "Imaging"
    return "Lab"


def _escalation_reason(order: OrderFacts) -> str:
    if order.unexpected_significant:
        return "Unexpected significant"
    if "critical" in (order.result_urgency, order.priority):
        return "Critical"
    if order.unmatched and order.priority == "routine":
        return "Unmatched"  # no order on record: nobody is known to be waiting for it
    return "Urgent"
