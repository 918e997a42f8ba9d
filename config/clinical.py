"""Clinical and operational thresholds, each a named setting with its default and its source.

Every number in ``/work/shared/CLINICAL_RULES.md`` lives here, so a hospital can change a local
choice without touching the rules, and a reviewer can check each default against its source.
Settings are built on demand (``ClinicalRules()`` or ``ClinicalRules.from_env(environ)``), never
read at import time.

Overrides are environment variables named ``WARDBOARD_CLINICAL_<AREA>_<FIELD>``, for example
``WARDBOARD_CLINICAL_AE_WARNING_MINUTES=170``; the time zone is ``WARDBOARD_CLINICAL_TIMEZONE``.
An unknown ``WARDBOARD_CLINICAL_*`` name is an error rather than ignored: a mistyped clinical
threshold must not silently fall back to its default.

The NEWS2 scoring table itself is a published instrument, not a local choice, so its band
limits are constants in ``whiteboard.alerts.news2``; only the observation frequencies that the
Royal College of Physicians lets a hospital vary are settings.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from datetime import date, time
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_PREFIX = "WARDBOARD_CLINICAL_"
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
VTE_CLOCK_STARTS = ("admission", "decision_to_admit")
ALERT_LEVELS = ("info", "amber", "red", "purple")


class RuleValueError(ValueError):
    """A setting that is well-formed but clinically inconsistent; names the field(s) involved."""

    def __init__(self, field_name: str, message: str, *also: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field_names = (field_name, *also)
        self.reason = message


def _meta(source: str, doc: str) -> dict[str, str]:
    return {"source": source, "doc": doc}


def _setting(default: Any, source: str, doc: str) -> Any:
    """A dataclass field carrying its source and meaning, so docs and tests can list them."""
    return field(default=default, metadata=_meta(source, doc))


def _require_positive(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not value > 0:
            raise RuleValueError(name, f"must be greater than 0, got {value!r}")


def _require_percent(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not 0 <= value <= 100:
            raise RuleValueError(name, f"must be a percentage from 0 to 100, got {value!r}")


def _require_order(obj: object, lower: str, upper: str, *, strict: bool = True) -> None:
    low, high = getattr(obj, lower), getattr(obj, upper)
    if low > high or (strict and low == high):
        relation = "less than" if strict else "at most"
        raise RuleValueError(lower, f"must be {relation} {upper} ({low!r} vs {high!r})", upper)


@dataclass(frozen=True)
class AeRules:
    """A&E (emergency department) clocks, measured from arrival unless said otherwise."""

    warning_minutes: int = _setting(
        180, "local (seed)", "warning icon from this long after arrival"
    )
    warning_level: str = _setting("red", "local (seed: red icon)", "alert level of the warning")
    breach_minutes: int = _setting(
        240,
        "NHS Constitution 4-hour standard",
        "breach when MORE than this since arrival; exactly this complies",
    )
    breach_level: str = _setting("purple", "local (seed: purple icon)", "alert level of a breach")
    twelve_hour_minutes: int = _setting(
        720,
        "NHS Standard Contract (cap of 2% of attendances)",
        "breach when more than this since arrival",
    )
    trolley_wait_minutes: int = _setting(
        720,
        "NHS England A&E statistics",
        "12-hour trolley wait: more than this from decision to admit to admission",
    )
    four_hour_standard_percent: float = _setting(
        95.0, "NHS Constitution", "share of attendances to leave within the breach time"
    )
    four_hour_planning_percent: float = _setting(
        78.0, "NHS England 2025/26 planning guidance", "operational 4-hour target for reports"
    )
    twelve_hour_cap_percent: float = _setting(
        2.0, "NHS Standard Contract", "most attendances allowed over 12 h from arrival"
    )

    def __post_init__(self) -> None:
        _require_positive(
            self, "warning_minutes", "breach_minutes", "twelve_hour_minutes", "trolley_wait_minutes"
        )
        _require_order(self, "warning_minutes", "breach_minutes", strict=False)
        _require_order(self, "breach_minutes", "twelve_hour_minutes", strict=False)
        for name in ("warning_level", "breach_level"):
            if getattr(self, name) not in ALERT_LEVELS:
                raise RuleValueError(name, f"must be one of {', '.join(ALERT_LEVELS)}")
        _require_percent(
            self,
            "four_hour_standard_percent",
            "four_hour_planning_percent",
            "twelve_hour_cap_percent",
        )


@dataclass(frozen=True)
class VteRules:
    """Venous thromboembolism risk assessment on admission."""

    due_hours: int = _setting(
        14,
        "NICE NG89 1.1.2; NHS England VTE data collection",
        "assessment due within this many hours of the clock start; red once passed",
    )
    clock_start: str = _setting(
        "admission",
        "NICE NG89 1.1.2 (local choice of start)",
        "when the clock starts: 'admission' or 'decision_to_admit'",
    )
    min_age_years: int = _setting(
        16, "NHS England VTE data collection", "only admitted patients this age or older count"
    )
    standard_percent: float = _setting(
        95.0, "NHS Standard Contract", "share to be assessed within due_hours (reports)"
    )

    def __post_init__(self) -> None:
        _require_positive(self, "due_hours")
        if self.clock_start not in VTE_CLOCK_STARTS:
            raise RuleValueError("clock_start", f"must be one of {', '.join(VTE_CLOCK_STARTS)}")
        if self.min_age_years < 0:
            raise RuleValueError("min_age_years", "must not be negative")
        _require_percent(self, "standard_percent")


@dataclass(frozen=True)
class ObsRules:
    """Minimum observation frequency by NEWS2 score, and the board's due/overdue states."""

    score_zero_hours: int = _setting(12, "RCP NEWS2 (2017)", "frequency when the total is 0")
    low_score_hours: int = _setting(
        4, "RCP NEWS2 (2017); may be raised to 6", "frequency for totals 1-4 (at most 6)"
    )
    single_three_hours: int = _setting(
        1, "RCP NEWS2 (2017)", "frequency when any single parameter scores 3"
    )
    medium_score_hours: int = _setting(1, "RCP NEWS2 (2017)", "frequency for totals 5-6")
    medium_score_from: int = _setting(5, "RCP NEWS2 (2017)", "lowest total of the medium band")
    continuous_from: int = _setting(
        7, "RCP NEWS2 (2017)", "total at and above which monitoring is continuous"
    )
    min_age_years: int = _setting(16, "RCP NEWS2 (2017)", "NEWS2 does not apply below this age")
    not_applicable_hours: int = _setting(
        4,
        "local (not in CLINICAL_RULES.md): paediatric/maternity charts set their own",
        "frequency used for the due/overdue state when NEWS2 does not apply",
    )
    due_soon_minutes: int = _setting(
        15,
        "local (not in CLINICAL_RULES.md)",
        "the 'due' state starts this long before the next set is due; 'overdue' after it",
    )

    def __post_init__(self) -> None:
        _require_positive(
            self,
            "score_zero_hours",
            "low_score_hours",
            "single_three_hours",
            "medium_score_hours",
            "not_applicable_hours",
        )
        if self.low_score_hours > 6:
            raise RuleValueError(
                "low_score_hours", "must be at most 6 (RCP allows 4 to 6 hours for totals 1-4)"
            )
        if not 1 <= self.medium_score_from < self.continuous_from:
            raise RuleValueError(
                "medium_score_from",
                "must be at least 1 and less than continuous_from",
                "continuous_from",
            )
        if self.due_soon_minutes < 0:
            raise RuleValueError("due_soon_minutes", "must not be negative")


@dataclass(frozen=True)
class ResultRules:
    """Order lifecycle timers: ordered -> performed -> reported -> acknowledged."""

    radiograph_report_hours: int = _setting(
        24,
        "Royal College of Radiologists audit XR-508",
        "inpatient radiograph reported within this long of the examination",
    )
    radiograph_working_days_only: bool = _setting(
        True,
        "Royal College of Radiologists audit XR-508 ('working day')",
        "count the radiograph clock only on working days",
    )
    working_days: tuple[str, ...] = _setting(
        ("Mon", "Tue", "Wed", "Thu", "Fri"),
        "local",
        "weekdays that count as working days (comma-separated Mon..Sun)",
    )
    holidays: tuple[date, ...] = _setting(
        (), "local", "dates that are not working days (comma-separated YYYY-MM-DD)"
    )
    critical_report_hours: int = _setting(
        1,
        "Seven Day Services standard 5",
        "consultant-directed test done and reported within this long of the request (critical)",
    )
    urgent_report_hours: int = _setting(
        12, "Seven Day Services standard 5", "as above for urgent requests"
    )
    routine_report_hours: int = _setting(
        24, "Seven Day Services standard 5", "as above for non-urgent requests"
    )
    imaging_report_days: int = _setting(
        28, "NHS England imaging turnaround times (2023)", "any imaging reported within 4 weeks"
    )
    critical_perform_hours: int = _setting(
        1,
        "local, after Seven Day Services standard 5",
        "critical order performed within this long of the request",
    )
    urgent_perform_hours: int = _setting(
        12,
        "local, after Seven Day Services standard 5",
        "urgent order performed within this long of the request",
    )
    routine_perform_hours: int = _setting(
        24,
        "local, after Seven Day Services standard 5",
        "routine order performed within this long of the request",
    )
    acknowledge_hours: int = _setting(
        24,
        "NPSA safer practice notice 16; RCR fail-safe alerts (N is local)",
        "routine result unacknowledged this long after its report turns red",
    )
    unmatched_escalates_at_once: bool = _setting(
        True,
        "local, after NPSA safer practice notice 16 (a result nobody is waiting for is the miss)",
        "a final result for an order we never saw is red 'to review' at once, not after N h",
    )

    def __post_init__(self) -> None:
        _require_positive(
            self,
            "radiograph_report_hours",
            "critical_report_hours",
            "urgent_report_hours",
            "routine_report_hours",
            "imaging_report_days",
            "critical_perform_hours",
            "urgent_perform_hours",
            "routine_perform_hours",
            "acknowledge_hours",
        )
        unknown = [day for day in self.working_days if day not in WEEKDAY_NAMES]
        if unknown or not self.working_days:
            raise RuleValueError(
                "working_days", f"must be a non-empty list of {', '.join(WEEKDAY_NAMES)}"
            )


@dataclass(frozen=True)
class EddRules:
    """Estimated discharge date: presence, freshness and the discharge time."""

    missing_amber_hours: int = _setting(
        14,
        "Seven Day Services standards 2 and 3; NHS England 'reducing long stays'",
        "no EDD: amber from this long after admission",
    )
    missing_red_hours: int = _setting(
        24,
        "Seven Day Services standards 2 and 3; NHS England 'reducing long stays'",
        "no EDD: red from this long after admission",
    )
    review_hours: int = _setting(
        24, "derived", "an EDD is current only if reviewed within this many hours"
    )
    discharge_time_hours: int = _setting(
        48,
        "practice in Nova Scotia and NHS trusts",
        "ask for the expected discharge time once the EDD is this close",
    )

    def __post_init__(self) -> None:
        _require_positive(
            self, "missing_amber_hours", "missing_red_hours", "review_hours", "discharge_time_hours"
        )
        _require_order(self, "missing_amber_hours", "missing_red_hours", strict=False)


@dataclass(frozen=True)
class LongStayRules:
    """Long lengths of stay (SAFER; UEC daily situation report)."""

    stranded_days: int = _setting(7, "SAFER; UEC daily sitrep", "'stranded' from this many days")
    super_stranded_days: int = _setting(
        21, "SAFER; UEC daily sitrep", "'super-stranded' from this many days"
    )

    def __post_init__(self) -> None:
        _require_positive(self, "stranded_days", "super_stranded_days")
        _require_order(self, "stranded_days", "super_stranded_days")


@dataclass(frozen=True)
class ReferralRules:
    """Community referral tasks for post-discharge needs, timed from the EDD."""

    open_hours_before_edd: int = _setting(
        48,
        "DHSC hospital discharge guidance (2024); seed",
        "the referral task opens this long before the EDD",
    )
    due_hours_before_edd: int = _setting(
        24,
        "DHSC hospital discharge guidance (2024); seed",
        "the community team must pick it up by this long before the EDD; red after",
    )

    def __post_init__(self) -> None:
        if self.due_hours_before_edd < 0:
            raise RuleValueError("due_hours_before_edd", "must not be negative")
        _require_order(self, "due_hours_before_edd", "open_hours_before_edd", strict=False)


@dataclass(frozen=True)
class ReportRules:
    """Figures used by reports and emails rather than by board alerts."""

    consultant_email_at: time = field(
        default=time(7, 0),
        metadata=_meta("local (seed)", "local time of the daily consultant email"),
    )
    senior_review_by: time = field(
        default=time(12, 0), metadata=_meta("SAFER", "senior review before this time")
    )
    first_to_ward_by: time = field(
        default=time(10, 0),
        metadata=_meta("SAFER", "first patient from the assessment unit to the ward by this time"),
    )
    discharges_before_noon_percent: float = _setting(
        33.0, "SAFER", "share of discharges before noon"
    )
    noon: time = field(
        default=time(12, 0), metadata=_meta("SAFER", "'before noon' means before this local time")
    )
    review_stays_over_days: int = _setting(7, "SAFER", "review every stay longer than this")

    def __post_init__(self) -> None:
        _require_percent(self, "discharges_before_noon_percent")
        _require_positive(self, "review_stays_over_days")


class SettingInfo(NamedTuple):
    """One overridable setting as documentation and tests see it."""

    env_name: str
    path: str
    default: Any
    source: str
    doc: str


# Attribute of ClinicalRules -> AREA in the variable name.
AREAS: dict[str, str] = {
    "ae": "AE",
    "vte": "VTE",
    "obs": "OBS",
    "results": "RESULTS",
    "edd": "EDD",
    "long_stay": "LONG_STAY",
    "referral": "REFERRAL",
    "reports": "REPORTS",
}


@dataclass(frozen=True)
class ClinicalRules:
    """All clinical thresholds; ``ClinicalRules()`` is the documented default set."""

    timezone: str = _setting(
        "Europe/London",
        "local",
        "IANA zone for local dates (EDD 'in the past', working days); clocks run in UTC",
    )
    ae: AeRules = field(default_factory=AeRules)
    vte: VteRules = field(default_factory=VteRules)
    obs: ObsRules = field(default_factory=ObsRules)
    results: ResultRules = field(default_factory=ResultRules)
    edd: EddRules = field(default_factory=EddRules)
    long_stay: LongStayRules = field(default_factory=LongStayRules)
    referral: ReferralRules = field(default_factory=ReferralRules)
    reports: ReportRules = field(default_factory=ReportRules)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise RuleValueError(
                "timezone", f"must be a known IANA time zone, got {self.timezone!r}"
            ) from exc

    @property
    def tz(self) -> ZoneInfo:
        """The local zone (ZoneInfo caches instances, so this is cheap)."""
        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ClinicalRules:
        """Defaults overridden by ``WARDBOARD_CLINICAL_*`` variables in ``environ``.

        Raises ValueError naming the variable when a value does not parse, is clinically
        inconsistent (e.g. warning after breach), or the name is not a known setting.
        """
        known = {info.env_name for info in cls.settings()}
        unknown = sorted(k for k in environ if k.startswith(ENV_PREFIX) and k not in known)
        if unknown:
            raise ValueError(
                f"unknown clinical setting {', '.join(unknown)}; "
                f"known settings are listed in docs/CLINICAL_RULES_IMPL.md"
            )
        areas: dict[str, Any] = {}
        for attr, area in AREAS.items():
            area_cls = _area_class(cls, attr)
            values = _overrides(area_cls, f"{ENV_PREFIX}{area}_", environ)
            try:
                areas[attr] = area_cls(**values)
            except RuleValueError as exc:
                raise _naming_variables(exc, f"{ENV_PREFIX}{area}_", values) from None
        top = _overrides(cls, ENV_PREFIX, environ, only=("timezone",))
        try:
            return cls(**top, **areas)
        except RuleValueError as exc:
            raise _naming_variables(exc, ENV_PREFIX, top) from None

    @classmethod
    def settings(cls) -> tuple[SettingInfo, ...]:
        """Every overridable setting with its variable name, default, source and meaning."""
        rows = [_info(f, ENV_PREFIX, "") for f in fields(cls) if f.name == "timezone"]
        for attr, area in AREAS.items():
            for f in fields(_area_class(cls, attr)):
                rows.append(_info(f, f"{ENV_PREFIX}{area}_", f"{attr}."))
        return tuple(rows)


def _naming_variables(
    exc: RuleValueError, prefix: str, overridden: Mapping[str, Any]
) -> ValueError:
    """Name the variables the operator set among those involved (all of them if none was)."""
    names = [n for n in exc.field_names if n in overridden] or list(exc.field_names)
    variables = ", ".join(prefix + n.upper() for n in names)
    return ValueError(f"{variables}: {exc.field_names[0]} {exc.reason}")


def _area_class(cls: type, attr: str) -> type:
    return typing.get_type_hints(cls)[attr]


def _info(f: Field[Any], prefix: str, path_prefix: str) -> SettingInfo:
    default = f.default if f.default is not MISSING else None
    return SettingInfo(
        env_name=prefix + f.name.upper(),
        path=path_prefix + f.name,
        default=default,
        source=f.metadata.get("source", ""),
        doc=f.metadata.get("doc", ""),
    )


def _overrides(
    cls: type, prefix: str, environ: Mapping[str, str], only: tuple[str, ...] | None = None
) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in fields(cls):
        if only is not None and f.name not in only:
            continue
        key = prefix + f.name.upper()
        if key in environ:
            try:
                values[f.name] = _parse(hints[f.name], environ[key])
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
    return values


def _parse(kind: Any, raw: str) -> Any:
    text = raw.strip()
    if kind is bool:
        lowered = text.lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ValueError(f"expected true or false, got {raw!r}")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
    if kind is float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {raw!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {raw!r}")
        return value
    if kind is str:
        if not text:
            raise ValueError("must not be empty")
        return text
    if kind is time:
        try:
            return time.fromisoformat(text)
        except ValueError:
            raise ValueError(f"expected a time HH:MM, got {raw!r}") from None
    if kind == tuple[str, ...]:
        items = [part.strip() for part in text.split(",") if part.strip()]
        return tuple(item[:1].upper() + item[1:3].lower() for item in items)
    if kind == tuple[date, ...]:
        try:
            return tuple(date.fromisoformat(p.strip()) for p in text.split(",") if p.strip())
        except ValueError:
            raise ValueError(
                f"expected dates YYYY-MM-DD separated by commas, got {raw!r}"
            ) from None
    raise TypeError(f"no parser for {kind!r}")  # a programming error, not bad input
