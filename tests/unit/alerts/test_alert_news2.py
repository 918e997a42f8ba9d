"""NEWS2 scoring against the RCP 2017 chart as written in CLINICAL_RULES.md, band edge by edge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from config.clinical import ClinicalRules, ObsRules
from whiteboard.alerts.facts import ObservationSet
from whiteboard.alerts.news2 import (
    air_or_oxygen_points,
    consciousness_points,
    pulse_points,
    respiration_rate_points,
    score_news2,
    spo2_scale_1_points,
    spo2_scale_2_points,
    systolic_bp_points,
    temperature_points,
)

RULES = ClinicalRules()
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rate", "points"),
    [(0, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (60, 3)],
)
def test_respiration_rate(rate: int, points: int) -> None:
    assert respiration_rate_points(rate) == points


@pytest.mark.parametrize(
    ("spo2", "points"),
    [(70, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)],
)
def test_spo2_scale_1(spo2: int, points: int) -> None:
    assert spo2_scale_1_points(spo2) == points


@pytest.mark.parametrize(
    ("spo2", "on_oxygen", "points"),
    [
        (70, False, 3),
        (83, True, 3),
        (83, False, 3),
        (84, False, 2),
        (85, True, 2),
        (86, False, 1),
        (87, True, 1),
        (88, True, 0),
        (92, True, 0),
        (88, False, 0),
        (92, False, 0),
        (93, False, 0),  # >= 93 on air scores 0
        (100, False, 0),
        (93, True, 1),  # 93-94 on oxygen
        (94, True, 1),
        (95, True, 2),  # 95-96 on oxygen
        (96, True, 2),
        (97, True, 3),  # >= 97 on oxygen
        (100, True, 3),
    ],
)
def test_spo2_scale_2(spo2: int, on_oxygen: bool, points: int) -> None:
    assert spo2_scale_2_points(spo2, on_oxygen) == points


@pytest.mark.parametrize(("on_oxygen", "points"), [(False, 0), (True, 2)])
def test_air_or_oxygen(on_oxygen: bool, points: int) -> None:
    assert air_or_oxygen_points(on_oxygen) == points


@pytest.mark.parametrize(
    ("systolic", "points"),
    [
        (60, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3),
        (260, 3),
    ],
)  # fmt: skip
def test_systolic_bp(systolic: int, points: int) -> None:
    assert systolic_bp_points(systolic) == points


@pytest.mark.parametrize(
    ("pulse", "points"),
    [
        (30, 3), (40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2),
        (130, 2), (131, 3), (180, 3),
    ],
)  # fmt: skip
def test_pulse(pulse: int, points: int) -> None:
    assert pulse_points(pulse) == points


@pytest.mark.parametrize(("acvpu", "points"), [("A", 0), ("C", 3), ("V", 3), ("P", 3), ("U", 3)])
def test_consciousness_including_new_confusion(acvpu: str, points: int) -> None:
    assert consciousness_points(acvpu) == points


@pytest.mark.parametrize(
    ("celsius", "points"),
    [
        (34.0, 3), (35.0, 3), (35.1, 1), (36.0, 1), (36.1, 0), (38.0, 0), (38.1, 1), (39.0, 1),
        (39.1, 2), (41.0, 2),
        (35.04, 3), (35.05, 1),  # recorded to 0.1 degC, halves round up
        (38.04, 0), (38.05, 1),
    ],
)  # fmt: skip
def test_temperature(celsius: float, points: int) -> None:
    assert temperature_points(celsius) == points


def _set(**changes: object) -> ObservationSet:
    normal: dict[str, object] = dict(
        taken_at=T0,
        respiration_rate=16,
        spo2=97,
        spo2_scale=1,
        on_oxygen=False,
        systolic_bp=125,
        pulse=72,
        consciousness="A",
        temperature=37.0,
    )
    normal.update(changes)
    return ObservationSet(**normal)  # type: ignore[arg-type]


# (changes to a normal set, total, any single 3, band, frequency in hours or None = continuous)
TOTALS = [
    ({}, 0, False, "low", 12),
    ({"pulse": 95}, 1, False, "low", 4),
    ({"pulse": 95, "temperature": 38.5, "respiration_rate": 10, "spo2": 95}, 4, False, "low", 4),
    ({"consciousness": "C"}, 3, True, "low-medium", 1),
    ({"respiration_rate": 8, "pulse": 95}, 4, True, "low-medium", 1),
    ({"on_oxygen": True, "pulse": 115, "temperature": 38.5}, 5, False, "medium", 1),
    ({"on_oxygen": True, "pulse": 115, "temperature": 39.5}, 6, False, "medium", 1),
    ({"systolic_bp": 88, "pulse": 115}, 5, True, "medium", 1),
    ({"on_oxygen": True, "pulse": 115, "temperature": 39.5, "spo2": 95}, 7, False, "high", None),
    (
        {"respiration_rate": 30, "spo2": 88, "on_oxygen": True, "systolic_bp": 85, "pulse": 140,
         "consciousness": "U", "temperature": 34.0},
        20, True, "high", None,
    ),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "total", "single_3", "band", "hours"), TOTALS)
def test_totals_bands_and_frequency(
    changes: dict[str, object], total: int, single_3: bool, band: str, hours: int | None
) -> None:
    result = score_news2(_set(**changes), RULES, age_years=50)
    assert result.applicable
    assert result.complete
    assert result.total == total
    assert result.any_single_3 is single_3
    assert result.band == band
    if hours is None:
        assert result.continuous
        assert result.frequency is None
    else:
        assert not result.continuous
        assert result.frequency == timedelta(hours=hours)


def test_per_parameter_points_are_reported() -> None:
    result = score_news2(_set(pulse=115, on_oxygen=True), RULES)
    assert result.points is not None
    assert dict(result.points.items()) == {
        "respiration_rate": 0,
        "spo2": 0,
        "air_or_oxygen": 2,
        "systolic_bp": 0,
        "pulse": 2,
        "consciousness": 0,
        "temperature": 0,
    }


def test_scale_2_set_is_scored_on_scale_2() -> None:
    on_air = score_news2(_set(spo2_scale=2, spo2=93, on_oxygen=False), RULES)
    on_oxygen = score_news2(_set(spo2_scale=2, spo2=97, on_oxygen=True), RULES)
    scale_1 = score_news2(_set(spo2_scale=1, spo2=90, on_oxygen=False), RULES)
    scale_2 = score_news2(_set(spo2_scale=2, spo2=90, on_oxygen=False), RULES)
    assert on_air.total == 0
    assert on_oxygen.total == 5  # 3 for SpO2 plus 2 for oxygen
    assert on_oxygen.any_single_3
    assert scale_1.total == 3
    assert scale_2.total == 0  # 90% is within a scale-2 target of 88-92


def test_scale_2_high_saturation_needs_air_or_oxygen() -> None:
    result = score_news2(_set(spo2_scale=2, spo2=95, on_oxygen=None), RULES)
    assert set(result.missing) == {"spo2", "air_or_oxygen"}
    assert not result.complete


def test_low_score_frequency_is_configurable_up_to_6_hours() -> None:
    rules = ClinicalRules(obs=ObsRules(low_score_hours=6))
    assert score_news2(_set(pulse=95), rules).frequency == timedelta(hours=6)
    with pytest.raises(ValueError, match="at most 6"):
        ObsRules(low_score_hours=7)


@pytest.mark.parametrize(
    ("age", "pregnant", "applicable", "reason"),
    [
        (15, False, False, "under 16"),
        (0, False, False, "under 16"),
        (16, False, True, None),
        (30, True, False, "pregnant"),
        (None, False, True, None),  # unknown age: scored rather than hidden
    ],
)
def test_not_applicable_under_16_or_pregnant(
    age: int | None, pregnant: bool, applicable: bool, reason: str | None
) -> None:
    result = score_news2(_set(pulse=140), RULES, age_years=age, pregnant=pregnant)
    assert result.applicable is applicable
    assert result.reason == reason
    if not applicable:
        assert result.total is None
        assert result.band is None


def test_partial_set_scores_what_is_present_and_says_what_is_missing() -> None:
    obs = ObservationSet(taken_at=T0, pulse=135, systolic_bp=120)
    result = score_news2(obs, RULES)
    assert result.total == 3
    assert result.any_single_3
    assert set(result.missing) == {
        "respiration_rate", "spo2", "air_or_oxygen", "consciousness", "temperature",
    }  # fmt: skip
