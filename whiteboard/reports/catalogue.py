"""The managers' reports as the web pages offer them: each computes once and gives tables (shown
on the page and downloaded as CSV) and one chart (PNG or SVG).

The computations live in their own modules; this only lays their results out, so the email,
the pages and the CSV files cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from config.clinical import ClinicalRules
from whiteboard.reports import charts
from whiteboard.reports.ae import AePerformance, ae_performance
from whiteboard.reports.discharges import DischargesBeforeNoon, discharges_before_noon
from whiteboard.reports.length_of_stay import LengthOfStay, length_of_stay_report
from whiteboard.reports.observations_on_time import (
    ObsCounts,
    ObservationsOnTime,
    observations_on_time,
)
from whiteboard.reports.occupancy import Occupancy, occupancy
from whiteboard.reports.period import Period
from whiteboard.reports.vte_standard import VteCounts, VteStandard, vte_within_standard


@dataclass(frozen=True)
class ReportTable:
    key: str
    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]


@dataclass(frozen=True)
class ReportKind:
    key: str
    title: str
    about: str
    compute: Callable[[Session, Period, ZoneInfo, ClinicalRules, datetime], Any]
    tables: Callable[[Any], list[ReportTable]]
    chart: Callable[[Any, str], bytes]


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _day(d: date) -> str:
    return d.isoformat()


def _week(d: date) -> str:
    return f"w/c {d.isoformat()}"


# ---- A&E --------------------------------------------------------------------------------


def _ae_tables(r: AePerformance) -> list[ReportTable]:
    headers = [
        "attendances",
        "within 4 h",
        "breaches",
        "% within 4 h",
        "over 12 h from arrival",
        "over 12 h from decision to admit",
    ]

    def row(label: str, c: Any) -> list[Any]:
        return [
            label,
            c.attendances,
            c.within,
            c.breaches,
            _pct(c.percent_within),
            c.twelve_hours,
            c.trolley_waits,
        ]

    def when(moment: Any) -> str:
        return "" if moment is None else f"{moment:%Y-%m-%d %H:%M}"

    return [
        ReportTable(
            "by_week",
            "By week",
            ["week", *headers],
            [row(_week(w), c) for w, c in r.by_week.items()] + [row("total", r.total)],
        ),
        ReportTable(
            "by_day", "By day", ["day", *headers], [row(_day(d), c) for d, c in r.by_day.items()]
        ),
        ReportTable(
            "breaches_by_clinician",
            "Breaches by responsible clinician",
            ["clinician", "breaches"],
            list(r.breaches_by_clinician.items()),
        ),
        ReportTable(
            "twelve_hour_waits",
            "12-hour waits: from arrival, and from decision to admit (trolley waits)",
            [
                "attendance",
                "arrived (UK time)",
                "decision to admit (UK time)",
                "minutes in department",
                "minutes from decision to admit",
                "over 12 h from arrival",
                "over 12 h from decision to admit",
                "still there",
            ],
            [
                [
                    w["stay_id"],
                    when(w["arrived_at"]),
                    when(w["decision_to_admit_at"]),
                    w["minutes"],
                    "" if w["trolley_minutes"] is None else w["trolley_minutes"],
                    w["over_12h_from_arrival"],
                    w["trolley_wait"],
                    w["still_in_department"],
                ]
                for w in r.twelve_hour_waits
            ],
        ),
    ]


def _ae_chart(r: AePerformance, fmt: str) -> bytes:
    return charts.percent_chart(
        "A&E: % of attendances within 4 hours, by week",
        [_week(w) for w in r.by_week],
        [c.percent_within for c in r.by_week.values()],
        [("standard", r.standard_percent), ("planning target", r.planning_percent)],
        fmt,
    )


# ---- length of stay -----------------------------------------------------------------------


def _los_tables(r: LengthOfStay) -> list[ReportTable]:
    return [
        ReportTable(
            "distribution",
            "Length of stay of inpatients discharged",
            ["length of stay", "discharges"],
            [*r.distribution.items(), ("total", r.discharges)],
        ),
        ReportTable(
            "long_stays",
            "Long stays among those discharged",
            ["stay of", "discharges"],
            [(f"{days}+ days", n) for days, n in r.long_stays.items()],
        ),
        ReportTable(
            "by_week",
            "By week of discharge",
            ["week", "discharges", "mean days", "7+ days", "14+ days", "21+ days"],
            [
                [
                    _week(w),
                    c.discharges,
                    "" if c.mean_days is None else f"{c.mean_days:.2f}",
                    *c.long_stays.values(),
                ]
                for w, c in r.by_week.items()
            ],
        ),
    ]


def _los_chart(r: LengthOfStay, fmt: str) -> bytes:
    return charts.bar_chart(
        "Length of stay of inpatients discharged",
        list(r.distribution),
        list(r.distribution.values()),
        "discharges",
        fmt,
    )


# ---- discharges before noon -----------------------------------------------------------------


def _noon_tables(r: DischargesBeforeNoon) -> list[ReportTable]:
    headers = ["discharges", "before noon", "% before noon"]

    def row(label: str, c: Any) -> list[Any]:
        return [label, c.discharges, c.before_noon, _pct(c.percent)]

    return [
        ReportTable(
            "by_week",
            "By week",
            ["week", *headers],
            [row(_week(w), c) for w, c in r.by_week.items()] + [row("total", r.total)],
        ),
        ReportTable(
            "by_day", "By day", ["day", *headers], [row(_day(d), c) for d, c in r.by_day.items()]
        ),
    ]


def _noon_chart(r: DischargesBeforeNoon, fmt: str) -> bytes:
    return charts.percent_chart(
        "Inpatient discharges before noon, by week",
        [_week(w) for w in r.by_week],
        [c.percent for c in r.by_week.values()],
        [("SAFER", r.standard_percent)],
        fmt,
    )


# ---- occupancy ------------------------------------------------------------------------------


def _occupancy_tables(r: Occupancy) -> list[ReportTable]:
    return [
        ReportTable(
            "midnight_census",
            "Midnight census (patients on the ward at 00:00 UK time)",
            ["day", *r.wards, "total", "beds", "% occupied"],
            [
                [
                    _day(d),
                    *counts.values(),
                    r.census_total(d),
                    r.total_beds,
                    _pct(100.0 * r.census_total(d) / r.total_beds if r.total_beds else None),
                ]
                for d, counts in r.census.items()
            ],
        ),
        ReportTable(
            "bed_days_by_ward",
            "Bed-days by ward (a 6-hour stay counts 0.25)",
            ["ward", "beds", "bed-days"],
            [[w, r.beds_by_ward[w], f"{d:.2f}"] for w, d in r.bed_days_by_ward.items()],
        ),
        ReportTable(
            "bed_days_by_consultant",
            "Bed-days by consultant",
            ["consultant", "bed-days"],
            [[c, f"{d:.2f}"] for c, d in r.bed_days_by_consultant.items()],
        ),
        ReportTable(
            "bed_days_by_week",
            "Bed-days by week",
            ["week", "bed-days"],
            [[_week(w), f"{d:.2f}"] for w, d in r.bed_days_by_week.items()],
        ),
    ]


def _occupancy_chart(r: Occupancy, fmt: str) -> bytes:
    return charts.line_chart(
        "Midnight census: patients in beds at 00:00",
        [_day(d) for d in r.census],
        [r.census_total(d) for d in r.census],
        float(r.total_beds) if r.total_beds else None,
        "patients",
        fmt,
    )


# ---- VTE assessment within 14 h ---------------------------------------------------------


def _vte_tables(r: VteStandard) -> list[ReportTable]:
    if not r.available:
        return [
            ReportTable(
                "by_week",
                "By week of admission",
                ["status"],
                [["Not available: VTE assessments are not recorded in Wardboard yet."]],
            )
        ]
    headers = ["aged 16+ admitted", "assessed within 14 h", "not within 14 h", "not yet due"]

    def row(label: str, c: VteCounts) -> list[Any]:
        return [label, c.counted, c.met, c.not_met, c.not_yet_due, _pct(c.percent)]

    return [
        ReportTable(
            "by_week",
            "By week of admission",
            ["week", *headers, "% within 14 h"],
            [row(_week(w), c) for w, c in r.by_week.items()] + [row("total", r.total)],
        )
    ]


def _vte_chart(r: VteStandard, fmt: str) -> bytes:
    title = "VTE risk assessment within 14 h of admission, by week"
    if not r.available:
        title += " (no VTE data recorded yet)"
    return charts.percent_chart(
        title,
        [_week(w) for w in r.by_week],
        [c.percent for c in r.by_week.values()],
        [("standard", r.standard_percent)],
        fmt,
    )


# ---- observations on time -----------------------------------------------------------------


_OBS_HEADERS = ["sets due", "on time", "late", "not taken", "% on time", "continuous"]


def _obs_row(c: ObsCounts) -> list[Any]:
    return [c.due, c.on_time, c.late, c.not_taken, _pct(c.percent), c.continuous]


def _obs_tables(r: ObservationsOnTime) -> list[ReportTable]:
    return [
        ReportTable(
            "by_week",
            "By week the set fell due",
            ["week", *_OBS_HEADERS],
            [[_week(w), *_obs_row(c)] for w, c in r.by_week.items()]
            + [["total", *_obs_row(r.total)]],
        ),
        ReportTable(
            "by_ward",
            "By ward",
            ["ward", *_OBS_HEADERS],
            [[w, *_obs_row(c)] for w, c in r.by_ward.items()],
        ),
        ReportTable(
            "by_ward_week",
            "By ward and week",
            ["ward", "week", *_OBS_HEADERS],
            [[w, _week(week), *_obs_row(c)] for (w, week), c in r.by_ward_week.items()],
        ),
    ]


def _obs_chart(r: ObservationsOnTime, fmt: str) -> bytes:
    return charts.percent_chart(
        "Observation sets taken on time (NEWS2 frequency), by week",
        [_week(w) for w in r.by_week],
        [c.percent for c in r.by_week.values()],
        [],
        fmt,
    )


REPORTS: dict[str, ReportKind] = {
    kind.key: kind
    for kind in (
        ReportKind(
            "ae",
            "A&E 4-hour performance",
            "Attendances by arrival day; a breach is more than 240 minutes from arrival "
            "(exactly 240 complies). Breaches go to the doctor responsible when the 4 hours ran "
            "out (the handover history).",
            lambda s, p, tz, rules, now: ae_performance(s, p, tz, rules, now),
            _ae_tables,
            _ae_chart,
        ),
        ReportKind(
            "vte",
            "VTE assessment within 14 hours",
            "Admitted inpatients aged 16+ assessed for VTE risk within 14 h, against 95%.",
            lambda s, p, tz, rules, now: vte_within_standard(s, p, tz, rules, now),
            _vte_tables,
            _vte_chart,
        ),
        ReportKind(
            "observations",
            "Observations on time",
            "Observation sets taken by the time the last set's NEWS2 score made them due "
            "(the board's rule), by the week and ward they fell due.",
            lambda s, p, tz, rules, now: observations_on_time(s, p, tz, rules, now),
            _obs_tables,
            _obs_chart,
        ),
        ReportKind(
            "length-of-stay",
            "Length of stay",
            "Inpatients discharged in the period, in whole days of real elapsed time.",
            lambda s, p, tz, rules, now: length_of_stay_report(s, p, tz, now),
            _los_tables,
            _los_chart,
        ),
        ReportKind(
            "discharges",
            "Discharges before noon",
            "Inpatient discharges before 12:00 UK time, against the SAFER 33%.",
            lambda s, p, tz, rules, now: discharges_before_noon(s, p, tz, rules),
            _noon_tables,
            _noon_chart,
        ),
        ReportKind(
            "occupancy",
            "Bed occupancy",
            "Midnight census (KH03 style) and fractional bed-days from bed-stay intervals.",
            lambda s, p, tz, rules, now: occupancy(s, p, tz, now),
            _occupancy_tables,
            _occupancy_chart,
        ),
    )
}
