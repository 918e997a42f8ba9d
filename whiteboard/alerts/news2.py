"""NEWS2 (National Early Warning Score 2, Royal College of Physicians 2017).

The scoring table is the published instrument, so its limits are constants here rather than
settings: a hospital may choose the observation frequency for totals 1-4 (4 to 6 hours), not
what a pulse of 131 scores. Each table is a list of (highest value in the band, points) read
top-down; a value above the last limit scores the table's ``above`` points.

NEWS2 is not validated below 16 years or in pregnancy; the result then says it does not apply
(paediatric and maternity charts are used instead). A set with a parameter missing is scored on
what is present, its ``missing`` lists the rest, and the total is only a lower bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, TypeVar

from config.clinical import ClinicalRules
from whiteboard.alerts.facts import ObservationSet

SOURCE = "Royal College of Physicians, NEWS2 (2017)"

Band = Literal["low", "low-medium", "medium", "high"]

RESPIRATION_RATE = ((8, 3), (11, 1), (20, 0), (24, 2))
RESPIRATION_RATE_ABOVE = 3
SPO2_SCALE_1 = ((91, 3), (93, 2), (95, 1))
SPO2_SCALE_1_ABOVE = 0
SPO2_SCALE_2_TARGET = ((83, 3), (85, 2), (87, 1), (92, 0))  # up to 92: same on air or oxygen
SPO2_SCALE_2_ON_OXYGEN = ((94, 1), (96, 2))  # 93 and above on oxygen
SPO2_SCALE_2_ON_OXYGEN_ABOVE = 3
SPO2_SCALE_2_ON_AIR_ABOVE = 0  # 93 and above on air
OXYGEN_POINTS = 2
SYSTOLIC_BP = ((90, 3), (100, 2), (110, 1), (219, 0))
SYSTOLIC_BP_ABOVE = 3
PULSE = ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2))
PULSE_ABOVE = 3
NOT_ALERT_POINTS = 3  # new confusion (C), voice (V), pain (P), unresponsive (U)
TEMPERATURE = (
    (Decimal("35.0"), 3),
    (Decimal("36.0"), 1),
    (Decimal("38.0"), 0),
    (Decimal("39.0"), 1),
)
TEMPERATURE_ABOVE = 2


Number = float | Decimal
T = TypeVar("T")


def _banded(value: Number, bands: tuple[tuple[Number, int], ...], above: int) -> int:
    for highest, points in bands:
        if value <= highest:
            return points
    return above


def respiration_rate_points(rate: int) -> int:
    return _banded(rate, RESPIRATION_RATE, RESPIRATION_RATE_ABOVE)


def spo2_scale_1_points(spo2: int) -> int:
    return _banded(spo2, SPO2_SCALE_1, SPO2_SCALE_1_ABOVE)


def spo2_scale_2_points(spo2: int, on_oxygen: bool) -> int:
    """Scale 2 is for a prescribed target of 88-92% (hypercapnic respiratory failure)."""
    if spo2 <= SPO2_SCALE_2_TARGET[-1][0]:
        return _banded(spo2, SPO2_SCALE_2_TARGET, 0)
    if not on_oxygen:
        return SPO2_SCALE_2_ON_AIR_ABOVE
    return _banded(spo2, SPO2_SCALE_2_ON_OXYGEN, SPO2_SCALE_2_ON_OXYGEN_ABOVE)


def air_or_oxygen_points(on_oxygen: bool) -> int:
    return OXYGEN_POINTS if on_oxygen else 0


def systolic_bp_points(systolic: int) -> int:
    return _banded(systolic, SYSTOLIC_BP, SYSTOLIC_BP_ABOVE)


def pulse_points(pulse: int) -> int:
    return _banded(pulse, PULSE, PULSE_ABOVE)


def consciousness_points(acvpu: str) -> int:
    return 0 if acvpu == "A" else NOT_ALERT_POINTS


def temperature_points(celsius: float) -> int:
    """Scored at the chart's precision of 0.1 degC, rounding halves up (35.05 -> 35.1)."""
    rounded = Decimal(str(celsius)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return _banded(rounded, TEMPERATURE, TEMPERATURE_ABOVE)


@dataclass(frozen=True)
class News2Points:
    """Points per parameter; None where the parameter was not recorded."""

    respiration_rate: int | None = None
    spo2: int | None = None
    air_or_oxygen: int | None = None
    systolic_bp: int | None = None
    pulse: int | None = None
    consciousness: int | None = None
    temperature: int | None = None

    def items(self) -> tuple[tuple[str, int | None], ...]:
        return tuple((f.name, getattr(self, f.name)) for f in fields(self))


@dataclass(frozen=True)
class News2Result:
    """A scored set. When ``applicable`` is False only ``reason`` is meaningful."""

    applicable: bool
    reason: str | None = None
    points: News2Points | None = None
    total: int | None = None
    any_single_3: bool = False
    band: Band | None = None
    frequency: timedelta | None = None  # minimum frequency; None when continuous or n/a
    continuous: bool = False
    missing: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.applicable and not self.missing


def not_applicable_reason(
    age_years: int | None, pregnant: bool, rules: ClinicalRules
) -> str | None:
    """Why NEWS2 does not apply, or None when it does (an unknown age is treated as adult)."""
    if age_years is not None and age_years < rules.obs.min_age_years:
        return f"under {rules.obs.min_age_years}"
    if pregnant:
        return "pregnant"
    return None


def score_points(obs: ObservationSet) -> News2Points:
    if obs.spo2 is None:
        spo2 = None
    elif obs.spo2_scale == 1:
        spo2 = spo2_scale_1_points(obs.spo2)
    elif obs.spo2 <= SPO2_SCALE_2_TARGET[-1][0] or obs.on_oxygen is not None:
        spo2 = spo2_scale_2_points(obs.spo2, bool(obs.on_oxygen))
    else:
        spo2 = None  # scale 2 at 93% or more cannot be scored without knowing air or oxygen
    return News2Points(
        respiration_rate=_maybe(obs.respiration_rate, respiration_rate_points),
        spo2=spo2,
        air_or_oxygen=_maybe(obs.on_oxygen, air_or_oxygen_points),
        systolic_bp=_maybe(obs.systolic_bp, systolic_bp_points),
        pulse=_maybe(obs.pulse, pulse_points),
        consciousness=_maybe(obs.consciousness, consciousness_points),
        temperature=_maybe(obs.temperature, temperature_points),
    )


def _maybe(value: T | None, scorer: Callable[[T], int]) -> int | None:
    return None if value is None else scorer(value)


def band_for(total: int, any_single_3: bool, rules: ClinicalRules) -> Band:
    if total >= rules.obs.continuous_from:
        return "high"
    if total >= rules.obs.medium_score_from:
        return "medium"
    if any_single_3:
        return "low-medium"
    return "low"


def minimum_frequency(total: int, any_single_3: bool, rules: ClinicalRules) -> timedelta | None:
    """Longest allowed gap before the next set; None means continuous monitoring."""
    obs = rules.obs
    if total >= obs.continuous_from:
        return None
    if total >= obs.medium_score_from:
        return timedelta(hours=obs.medium_score_hours)
    if any_single_3:
        return timedelta(hours=obs.single_three_hours)
    if total >= 1:
        return timedelta(hours=obs.low_score_hours)
    return timedelta(hours=obs.score_zero_hours)


def score_news2(
    obs: ObservationSet,
    rules: ClinicalRules,
    *,
    age_years: int | None = None,
    pregnant: bool = False,
) -> News2Result:
    reason = not_applicable_reason(age_years, pregnant, rules)
    if reason is not None:
        return News2Result(applicable=False, reason=reason)
    points = score_points(obs)
    present = [p for _, p in points.items() if p is not None]
    total = sum(present)
    any_single_3 = 3 in present
    frequency = minimum_frequency(total, any_single_3, rules)
    return News2Result(
        applicable=True,
        points=points,
        total=total,
        any_single_3=any_single_3,
        band=band_for(total, any_single_3, rules),
        frequency=frequency,
        continuous=frequency is None,
        missing=tuple(name for name, p in points.items() if p is None),
    )
