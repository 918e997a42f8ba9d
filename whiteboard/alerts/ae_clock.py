"""A&E clocks: time since arrival (warning at 3 h, breach past 4 h, 12 h) and the trolley wait.

A breach is MORE than the threshold: a patient leaving at exactly 240 minutes complies, one
second later breaches. The clocks stop when the patient is admitted, transferred or discharged;
a breach that happened stays on the record. Each breach is attributed to the doctor in charge at
the instant the clock passed the threshold (a handover at that very instant counts for the
incoming doctor), or to nobody when no doctor was recorded by then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from config.clinical import ClinicalRules
from whiteboard.alerts.clock import as_utc, format_elapsed
from whiteboard.alerts.facts import AttendanceFacts
from whiteboard.alerts.model import Alert, Clinician, Level

FOUR_HOUR_SOURCE = "NHS Constitution 4-hour standard; warning time local (seed)"
TWELVE_HOUR_SOURCE = "NHS Standard Contract: 12 hours from arrival"
TROLLEY_SOURCE = "NHS England A&E statistics: 12-hour trolley wait from decision to admit"


@dataclass(frozen=True)
class AeClock:
    """The state of an attendance's clocks at one moment (also what reports aggregate)."""

    arrived_at: datetime
    stopped_at: datetime | None
    elapsed: timedelta
    warning_at: datetime
    breach_at: datetime  # the last compliant instant; a breach is any time after it
    twelve_hour_at: datetime
    warning: bool
    breached: bool
    twelve_hour_breached: bool
    trolley_started_at: datetime | None
    trolley_elapsed: timedelta | None
    trolley_breach_at: datetime | None
    trolley_breached: bool


def ae_clock(att: AttendanceFacts, now: datetime, rules: ClinicalRules) -> AeClock:
    now = as_utc(now, "now")
    ae = rules.ae
    stopped = att.stopped_at
    end = now if stopped is None else min(now, stopped)
    elapsed = max(timedelta(0), end - att.arrived_at)
    breach_after = timedelta(minutes=ae.breach_minutes)
    twelve_after = timedelta(minutes=ae.twelve_hour_minutes)
    trolley_elapsed = trolley_breach_at = None
    if att.decision_to_admit_at is not None:
        trolley_elapsed = max(timedelta(0), end - att.decision_to_admit_at)
        trolley_breach_at = att.decision_to_admit_at + timedelta(minutes=ae.trolley_wait_minutes)
    return AeClock(
        arrived_at=att.arrived_at,
        stopped_at=stopped,
        elapsed=elapsed,
        warning_at=att.arrived_at + timedelta(minutes=ae.warning_minutes),
        breach_at=att.arrived_at + breach_after,
        twelve_hour_at=att.arrived_at + twelve_after,
        warning=elapsed >= timedelta(minutes=ae.warning_minutes),
        breached=elapsed > breach_after,
        twelve_hour_breached=elapsed > twelve_after,
        trolley_started_at=att.decision_to_admit_at,
        trolley_elapsed=trolley_elapsed,
        trolley_breach_at=trolley_breach_at,
        trolley_breached=(
            trolley_elapsed is not None
            and trolley_elapsed > timedelta(minutes=ae.trolley_wait_minutes)
        ),
    )


def responsible_at(att: AttendanceFacts, moment: datetime) -> Clinician | None:
    entry = att.doctor_at(moment)
    return None if entry is None else Clinician(entry.doctor_code, entry.doctor_name)


def ae_alerts(att: AttendanceFacts, now: datetime, rules: ClinicalRules) -> list[Alert]:
    clock = ae_clock(att, now, rules)
    ae = rules.ae
    alerts = [a for a in (_four_hour(att, clock, rules),) if a is not None]
    if clock.twelve_hour_breached:
        alerts.append(
            _breach(
                att,
                clock.twelve_hour_at,
                rules,
                code="ae_12h",
                symbol="12h",
                label="12h in A&E",
                detail=f"More than {ae.twelve_hour_minutes} min since arrival",
                source=TWELVE_HOUR_SOURCE,
            )
        )
    if clock.trolley_breached:
        assert clock.trolley_breach_at is not None
        alerts.append(
            _breach(
                att,
                clock.trolley_breach_at,
                rules,
                code="trolley_12h",
                symbol="T",
                label="12h trolley wait",
                detail=f"More than {ae.trolley_wait_minutes} min from decision to admit",
                source=TROLLEY_SOURCE,
            )
        )
    return alerts


def _four_hour(att: AttendanceFacts, clock: AeClock, rules: ClinicalRules) -> Alert | None:
    shown = format_elapsed(clock.elapsed)
    if clock.breached:
        return _breach(
            att,
            clock.breach_at,
            rules,
            code="ae_4h",
            symbol="4h",
            label=f"4h breach {shown}",
            detail=f"More than {rules.ae.breach_minutes} min since arrival",
            source=FOUR_HOUR_SOURCE,
        )
    if clock.stopped_at is not None:
        return None  # left within the standard
    if clock.warning:
        level = cast(Level, rules.ae.warning_level)
        since, detail = clock.warning_at, "Approaching 4 hours"
    else:
        level, since, detail = "info", clock.arrived_at, "Time since arrival"
    return Alert(
        code="ae_4h",
        level=level,
        symbol="4h",
        label=shown,
        detail=f"{detail}: {shown}",
        source=FOUR_HOUR_SOURCE,
        since=since,
        due_at=clock.breach_at,
    )


def _breach(
    att: AttendanceFacts,
    threshold_at: datetime,
    rules: ClinicalRules,
    *,
    code: str,
    symbol: str,
    label: str,
    detail: str,
    source: str,
) -> Alert:
    """A breach, attributed to the doctor in charge when the clock passed ``threshold_at``."""
    doctor = responsible_at(att, threshold_at)
    who = f"; responsible: {doctor.name}" if doctor else "; no responsible doctor recorded"
    return Alert(
        code=code,
        level=cast(Level, rules.ae.breach_level),
        symbol=symbol,
        label=label,
        detail=detail + who,
        source=source,
        since=threshold_at,
        due_at=threshold_at,
        responsible=doctor,
    )
