"""The combined view: every rule for a stay or an attendance, most severe first, JSON-ready."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from config.clinical import ClinicalRules
from whiteboard.alerts.evaluate import alerts_for_attendance, alerts_for_stay
from whiteboard.alerts.facts import AttendanceFacts, ObservationSet, OrderFacts, StayFacts
from whiteboard.alerts.model import LEVEL_RANK, Alert, by_severity

RULES = ClinicalRules()
ADMITTED = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _busy_stay(**changes: object) -> StayFacts:
    values: dict[str, object] = dict(
        admitted_at=ADMITTED,
        age_years=81,
        observations=(
            ObservationSet(ADMITTED + H, 21, 95, 1, False, 105, 80, "A", 37.2),
        ),
        orders=(
            OrderFacts("R1", "imaging", ADMITTED, modality="XR", performed_at=ADMITTED + H,
                       reported_at=ADMITTED + 3 * H, unexpected_significant=True),
        ),
        post_discharge_needs=("district_nursing",),
    )  # fmt: skip
    values.update(changes)
    return StayFacts(**values)  # type: ignore[arg-type]


def test_stay_alerts_combined_and_ordered() -> None:
    alerts = alerts_for_stay(_busy_stay(), ADMITTED + 30 * H, RULES)
    codes = {a.code: a.level for a in alerts}
    assert codes == {
        "vte": "red",  # never assessed, 30 h
        "obs": "red",  # NEWS2 4 -> 4-hourly, last set 29 h ago
        "news2": "info",
        "result": "red",  # unexpected significant, not acknowledged
        "edd": "red",  # no EDD 30 h after admission
    }
    ranks = [LEVEL_RANK[a.level] for a in alerts]
    assert ranks == sorted(ranks, reverse=True)
    assert all(a.symbol for a in alerts)


def test_quiet_stay_has_only_the_news2_badge() -> None:
    now = ADMITTED + 2 * H
    stay = _busy_stay(
        vte_assessed_at=ADMITTED + H, orders=(), edd=date(2025, 1, 20), edd_reviewed_at=now
    )
    assert [a.code for a in alerts_for_stay(stay, now, RULES)] == ["news2"]


def test_discharged_stay_keeps_only_unacknowledged_results() -> None:
    stay = _busy_stay(discharged_at=ADMITTED + 5 * H)
    assert [a.code for a in alerts_for_stay(stay, ADMITTED + 30 * H, RULES)] == ["result"]


def test_attendance_alerts() -> None:
    att = AttendanceFacts(arrived_at=ADMITTED, decision_to_admit_at=ADMITTED + H)
    alerts = alerts_for_attendance(att, ADMITTED + 14 * H, RULES)
    assert [a.code for a in alerts] == ["ae_4h", "ae_12h", "trolley_12h"]  # oldest breach first


def test_to_dict_is_json_ready() -> None:
    alerts = alerts_for_stay(_busy_stay(), ADMITTED + 30 * H, RULES)
    payload = json.loads(json.dumps([a.to_dict() for a in alerts]))
    vte = next(p for p in payload if p["code"] == "vte")
    assert vte == {
        "code": "vte",
        "level": "red",
        "symbol": "V",
        "label": "VTE overdue",
        "detail": "VTE assessment not done 30h00 after admission",
        "source": "NICE NG89 1.1.2; NHS England VTE data collection",
        "since": "2025-01-06T22:00:00+00:00",
        "due_at": "2025-01-06T22:00:00+00:00",
        "responsible": None,
        "ref": None,
    }


def test_by_severity_is_stable_within_a_level() -> None:
    def alert(code: str, level: str, hours: int) -> Alert:
        return Alert(code, level, "?", code, "", "", since=ADMITTED + hours * H)  # type: ignore[arg-type]

    ordered = by_severity([alert("b", "amber", 2), alert("a", "amber", 1), alert("c", "purple", 3)])
    assert [a.code for a in ordered] == ["c", "a", "b"]


def test_alert_needs_a_symbol_and_a_known_level() -> None:
    with pytest.raises(ValueError, match="symbol"):
        Alert("x", "red", "", "x", "", "")
    with pytest.raises(ValueError, match="level"):
        Alert("x", "green", "X", "x", "", "")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "build",
    [
        lambda: StayFacts(admitted_at=datetime(2025, 1, 6, 8, 0)),
        lambda: AttendanceFacts(
            arrived_at=ADMITTED, responsible=[(datetime(2025, 1, 6), "C", "D")]
        ),
        lambda: alerts_for_stay(StayFacts(admitted_at=ADMITTED), datetime(2025, 1, 6), RULES),
    ],
)
def test_naive_datetimes_are_refused(build) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="timezone-aware"):
        build()


def test_facts_are_hashable_and_lists_become_tuples() -> None:
    stay = StayFacts(admitted_at=ADMITTED, post_discharge_needs=["physiotherapy"])  # type: ignore[arg-type]
    assert stay.post_discharge_needs == ("physiotherapy",)
    hash(stay)
