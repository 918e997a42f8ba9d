"""The result-alert flags set from the record (issue 6, CLINICAL_RULES.md "Results and
imaging"): consultant-directed from the order, unexpected-significant from the report's OBX-8
flag on imaging, unmatched for a result whose order we never saw. Table-driven over the row
shapes the snapshot's queries return."""

from __future__ import annotations

from collections import namedtuple
from datetime import UTC, datetime, timedelta

import pytest

from whiteboard.board.clinical_facts import order_facts, unmatched_result_facts

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)

OrderRow = namedtuple(
    "OrderRow",
    "sid patient_class order_id kind modality priority service_code service_text ordered_at "
    "performed_at consultant_directed result_id report_status reported_at result_urgency "
    "acknowledged_at",
)
ResultRow = namedtuple(
    "ResultRow",
    "sid patient_class result_id placer_order_number filler_order_number service_code "
    "service_text report_status reported_at result_urgency acknowledged_at",
)


def order_row(**kw: object) -> OrderRow:
    values = dict(
        sid=1, patient_class="I", order_id=7, kind="lab", modality=None, priority="routine",
        service_code="FBC", service_text="Full blood count", ordered_at=T0, performed_at=None,
        consultant_directed=False, result_id=None, report_status=None, reported_at=None,
        result_urgency=None, acknowledged_at=None,
    )  # fmt: skip
    values.update(kw)
    return OrderRow(**values)


def reported(**kw: object) -> dict[str, object]:
    return {"result_id": 70, "report_status": "F", "reported_at": T0 + 2 * H, **kw}


@pytest.mark.parametrize(
    ("row", "consultant_directed", "unexpected_significant", "urgency"),
    [
        (order_row(), False, False, "routine"),
        (order_row(consultant_directed=True), True, False, "routine"),
        # Lab H/L against a reference range: routine abnormal, acknowledged in the usual time.
        (order_row(**reported(result_urgency="abnormal")), False, False, "routine"),
        (order_row(**reported(result_urgency="critical")), False, False, "critical"),
        # Imaging flagged abnormal by the reporter: unexpected significant (RCR fail-safe).
        (
            order_row(kind="imaging", modality="XR", **reported(result_urgency="abnormal")),
            False,
            True,
            "routine",
        ),
        (
            order_row(kind="imaging", modality="CT", **reported(result_urgency="routine")),
            False,
            False,
            "routine",
        ),
        # A preliminary flagged report is not yet the report to act on.
        (
            order_row(kind="imaging", **reported(result_urgency="abnormal", report_status="P")),
            False,
            False,
            "routine",
        ),
        (
            order_row(
                kind="imaging", consultant_directed=True, **reported(result_urgency="critical")
            ),
            True,
            False,
            "critical",
        ),
    ],
)
def test_order_flags(
    row: OrderRow, consultant_directed: bool, unexpected_significant: bool, urgency: str
) -> None:
    facts = order_facts((row,))
    assert facts.consultant_directed is consultant_directed
    assert facts.unexpected_significant is unexpected_significant
    assert facts.result_urgency == urgency
    assert facts.unmatched is False


def result_row(**kw: object) -> ResultRow:
    values = dict(
        sid=1, patient_class="I", result_id=80, placer_order_number="GONE1",
        filler_order_number="F1", service_code="K", service_text="Potassium",
        report_status="F", reported_at=T0, result_urgency="routine", acknowledged_at=None,
    )  # fmt: skip
    values.update(kw)
    return ResultRow(**values)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # (kind, modality, ref, reported?, urgency, unexpected significant, description)
        (
            (result_row(),),
            ("lab", None, "result-80", True, "routine", False, "Potassium (no known order GONE1)"),
        ),
        (
            (result_row(report_status="P"),),
            ("lab", None, "result-80", False, "routine", False, None),
        ),
        # Preliminary then final: the final is the one to acknowledge.
        (
            (result_row(report_status="P"), result_row(result_id=81, reported_at=T0 + H)),
            ("lab", None, "result-81", True, "routine", False, None),
        ),
        (
            (result_row(result_urgency="critical"),),
            ("lab", None, "result-80", True, "critical", False, None),
        ),
        (
            (
                result_row(
                    service_code="XRCHE",
                    service_text="",
                    placer_order_number="",
                    result_urgency="abnormal",
                ),
            ),
            ("imaging", "XR", "result-80", True, "routine", True, "XRCHE (no known order F1)"),
        ),
    ],
)
def test_unmatched_result_facts(rows: tuple[ResultRow, ...], expected: tuple) -> None:
    kind, modality, ref, is_reported, urgency, unexpected, description = expected
    facts = unmatched_result_facts(rows)
    assert facts.unmatched is True
    assert (facts.kind, facts.modality, facts.order_id) == (kind, modality, ref)
    assert (facts.reported_at is not None) is is_reported
    assert facts.performed_at == rows[0].reported_at == facts.ordered_at
    assert (facts.result_urgency, facts.unexpected_significant) == (urgency, unexpected)
    assert facts.consultant_directed is False
    if description is not None:
        assert facts.description == description
