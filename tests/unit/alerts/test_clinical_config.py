"""ClinicalRules: the defaults are the numbers of CLINICAL_RULES.md; overrides are checked."""

from __future__ import annotations

import dataclasses
from datetime import date, time
from pathlib import Path

import pytest

from config.clinical import ClinicalRules

# (setting path, default) straight from /work/shared/CLINICAL_RULES.md
DOCUMENTED_DEFAULTS = [
    ("timezone", "Europe/London"),
    ("ae.warning_minutes", 180),
    ("ae.warning_level", "red"),
    ("ae.breach_minutes", 240),
    ("ae.breach_level", "purple"),
    ("ae.twelve_hour_minutes", 720),
    ("ae.trolley_wait_minutes", 720),
    ("ae.four_hour_standard_percent", 95.0),
    ("ae.four_hour_planning_percent", 78.0),
    ("ae.twelve_hour_cap_percent", 2.0),
    ("vte.due_hours", 14),
    ("vte.clock_start", "admission"),
    ("vte.min_age_years", 16),
    ("vte.standard_percent", 95.0),
    ("obs.score_zero_hours", 12),
    ("obs.low_score_hours", 4),
    ("obs.single_three_hours", 1),
    ("obs.medium_score_hours", 1),
    ("obs.medium_score_from", 5),
    ("obs.continuous_from", 7),
    ("obs.min_age_years", 16),
    ("results.radiograph_report_hours", 24),
    ("results.radiograph_working_days_only", True),
    ("results.critical_report_hours", 1),
    ("results.urgent_report_hours", 12),
    ("results.routine_report_hours", 24),
    ("results.imaging_report_days", 28),
    ("edd.missing_amber_hours", 14),
    ("edd.missing_red_hours", 24),
    ("edd.review_hours", 24),
    ("edd.discharge_time_hours", 48),
    ("long_stay.stranded_days", 7),
    ("long_stay.super_stranded_days", 21),
    ("referral.open_hours_before_edd", 48),
    ("referral.due_hours_before_edd", 24),
    ("reports.consultant_email_at", time(7, 0)),
    ("reports.senior_review_by", time(12, 0)),
    ("reports.first_to_ward_by", time(10, 0)),
    ("reports.discharges_before_noon_percent", 33.0),
    ("reports.review_stays_over_days", 7),
]


def _get(rules: ClinicalRules, path: str) -> object:
    value: object = rules
    for part in path.split("."):
        value = getattr(value, part)
    return value


@pytest.mark.parametrize(("path", "expected"), DOCUMENTED_DEFAULTS)
def test_defaults_are_the_documented_numbers(path: str, expected: object) -> None:
    assert _get(ClinicalRules(), path) == expected
    assert _get(ClinicalRules.from_env({}), path) == expected


def test_every_setting_has_a_source_and_meaning() -> None:
    settings = ClinicalRules.settings()
    assert len({s.env_name for s in settings}) == len(settings)
    for s in settings:
        assert s.env_name.startswith("WARDBOARD_CLINICAL_")
        assert s.source, s.env_name
        assert s.doc, s.env_name


def test_every_setting_is_in_the_implementation_doc() -> None:
    doc = Path(__file__).resolve().parents[3] / "docs" / "CLINICAL_RULES_IMPL.md"
    text = doc.read_text(encoding="utf-8")
    missing = [s.env_name for s in ClinicalRules.settings() if s.env_name not in text]
    assert missing == []


@pytest.mark.parametrize(
    ("env", "path", "expected"),
    [
        ({"WARDBOARD_CLINICAL_AE_WARNING_MINUTES": "170"}, "ae.warning_minutes", 170),
        ({"WARDBOARD_CLINICAL_AE_WARNING_LEVEL": "amber"}, "ae.warning_level", "amber"),
        (
            {"WARDBOARD_CLINICAL_VTE_CLOCK_START": "decision_to_admit"},
            "vte.clock_start",
            "decision_to_admit",
        ),
        ({"WARDBOARD_CLINICAL_OBS_LOW_SCORE_HOURS": "6"}, "obs.low_score_hours", 6),
        (
            {"WARDBOARD_CLINICAL_RESULTS_RADIOGRAPH_WORKING_DAYS_ONLY": "no"},
            "results.radiograph_working_days_only",
            False,
        ),
        (
            {"WARDBOARD_CLINICAL_RESULTS_WORKING_DAYS": "mon, tue,Wed,thu,fri,sat"},
            "results.working_days",
            ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat"),
        ),
        (
            {"WARDBOARD_CLINICAL_RESULTS_HOLIDAYS": "2025-12-25,2025-12-26"},
            "results.holidays",
            (date(2025, 12, 25), date(2025, 12, 26)),
        ),
        (
            {"WARDBOARD_CLINICAL_AE_FOUR_HOUR_PLANNING_PERCENT": "82.5"},
            "ae.four_hour_planning_percent",
            82.5,
        ),
        (
            {"WARDBOARD_CLINICAL_REPORTS_CONSULTANT_EMAIL_AT": "06:45"},
            "reports.consultant_email_at",
            time(6, 45),
        ),
        ({"WARDBOARD_CLINICAL_TIMEZONE": "America/Halifax"}, "timezone", "America/Halifax"),
        ({"WARDBOARD_CLINICAL_LONG_STAY_STRANDED_DAYS": " 8 "}, "long_stay.stranded_days", 8),
    ],
)
def test_environment_overrides(env: dict[str, str], path: str, expected: object) -> None:
    rules = ClinicalRules.from_env(env)
    assert _get(rules, path) == expected


def test_unrelated_variables_are_ignored() -> None:
    rules = ClinicalRules.from_env({"WARDBOARD_HTTP_PORT": "9000", "PATH": "/bin"})
    assert rules == ClinicalRules()


@pytest.mark.parametrize(
    ("name", "value", "message_part"),
    [
        ("WARDBOARD_CLINICAL_AE_WARNING_MINUTES", "three hours", "whole number"),
        ("WARDBOARD_CLINICAL_AE_WARNING_MINUTES", "170.5", "whole number"),
        ("WARDBOARD_CLINICAL_AE_WARNING_MINUTES", "300", "breach_minutes"),
        ("WARDBOARD_CLINICAL_AE_BREACH_MINUTES", "0", "greater than 0"),
        ("WARDBOARD_CLINICAL_AE_BREACH_LEVEL", "blue", "one of"),
        ("WARDBOARD_CLINICAL_AE_FOUR_HOUR_STANDARD_PERCENT", "nan", "finite"),
        ("WARDBOARD_CLINICAL_AE_FOUR_HOUR_STANDARD_PERCENT", "120", "percentage"),
        ("WARDBOARD_CLINICAL_VTE_CLOCK_START", "arrival", "decision_to_admit"),
        ("WARDBOARD_CLINICAL_VTE_DUE_HOURS", "-1", "greater than 0"),
        ("WARDBOARD_CLINICAL_OBS_LOW_SCORE_HOURS", "7", "at most 6"),
        ("WARDBOARD_CLINICAL_RESULTS_RADIOGRAPH_WORKING_DAYS_ONLY", "maybe", "true or false"),
        ("WARDBOARD_CLINICAL_RESULTS_WORKING_DAYS", "Mon,Funday", "Mon"),
        ("WARDBOARD_CLINICAL_RESULTS_HOLIDAYS", "25/12/2025", "YYYY-MM-DD"),
        ("WARDBOARD_CLINICAL_EDD_MISSING_AMBER_HOURS", "30", "missing_red_hours"),
        ("WARDBOARD_CLINICAL_LONG_STAY_SUPER_STRANDED_DAYS", "7", "stranded_days"),
        ("WARDBOARD_CLINICAL_REFERRAL_DUE_HOURS_BEFORE_EDD", "72", "open_hours_before_edd"),
        ("WARDBOARD_CLINICAL_REPORTS_NOON", "midday", "HH:MM"),
        ("WARDBOARD_CLINICAL_TIMEZONE", "Europe/Atlantis", "time zone"),
        ("WARDBOARD_CLINICAL_TIMEZONE", "   ", "empty"),
        ("WARDBOARD_CLINICAL_AE_WARNIN_MINUTES", "170", "unknown"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, message_part: str) -> None:
    with pytest.raises(ValueError) as caught:
        ClinicalRules.from_env({name: value})
    assert name in str(caught.value)
    assert message_part in str(caught.value)


def test_rules_are_frozen() -> None:
    rules = ClinicalRules()
    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.ae.breach_minutes = 1  # type: ignore[misc]


def test_local_zone_object() -> None:
    assert ClinicalRules().tz.key == "Europe/London"
