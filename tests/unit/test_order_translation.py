"""What the order translator reads for the result alerts: kind and modality (OBR-24, else the
service code's prefix), priority (TQ1-9, ORC-7.6, OBR-27.6) and a result's urgency (OBX-8)."""

from __future__ import annotations

import pytest

from integration.translate.orders import order_kind, order_priority, result_urgency


@pytest.mark.parametrize(
    ("section", "code", "expected"),
    [
        ("", "FBC", ("lab", None)),
        ("", "CRP", ("lab", None)),  # not a CR (computed radiography) prefix
        ("", "XRCHE", ("imaging", "XR")),
        ("", "CTHEAD", ("imaging", "CT")),
        ("", "MRIBRAIN", ("imaging", "MR")),
        ("", "usabdo", ("imaging", "US")),
        ("RAD", "CHEST", ("imaging", None)),
        ("RAD", "XRCHE", ("imaging", "XR")),
        ("RX", "CHEST", ("imaging", "XR")),
        ("NMR", "BRAIN", ("imaging", "MR")),
        ("HM", "XRAYISH", ("lab", None)),  # a lab section wins over a misleading code
        ("CH", "UE", ("lab", None)),
    ],
)
def test_kind_and_modality(section, code, expected):
    assert order_kind(section, code) == expected


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ((), "routine"),
        (("", "", ""), "routine"),
        (("S",), "critical"),
        (("", "A"), "urgent"),
        (("", "", "T"), "urgent"),
        (("R", "S"), "routine"),  # the first given wins: TQ1-9 before ORC-7.6 before OBR-27.6
        (("P",), "routine"),
        (("s",), "critical"),
    ],
)
def test_priority(codes, expected):
    assert order_priority(*codes) == expected


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], "routine"),
        (["", "N"], "routine"),
        (["N", "H"], "abnormal"),
        (["L"], "abnormal"),
        (["A"], "abnormal"),
        (["H", "HH"], "critical"),
        (["LL"], "critical"),
        (["AA"], "critical"),
        ([">"], "critical"),
    ],
)
def test_result_urgency(flags, expected):
    assert result_urgency(flags) == expected
