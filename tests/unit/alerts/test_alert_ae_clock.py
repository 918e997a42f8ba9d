"""A&E clocks: warning at 180 min, breach MORE than 240 min, 12 h, trolley wait, attribution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from config.clinical import AeRules, ClinicalRules
from whiteboard.alerts.ae_clock import ae_alerts, ae_clock
from whiteboard.alerts.facts import AttendanceFacts, DoctorInCharge
from whiteboard.alerts.model import Clinician

RULES = ClinicalRules()
LONDON = ZoneInfo("Europe/London")
ARRIVED = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
S = timedelta(seconds=1)
MIN = timedelta(minutes=1)
H = timedelta(hours=1)


def _codes(att: AttendanceFacts, now: datetime, rules: ClinicalRules = RULES) -> dict[str, str]:
    return {a.code: a.level for a in ae_alerts(att, now, rules)}


@pytest.mark.parametrize(
    ("after", "level"),
    [
        (timedelta(0), "info"),
        (180 * MIN - S, "info"),
        (180 * MIN, "red"),  # seed: red icon at 3 h
        (240 * MIN, "red"),  # exactly 240 minutes complies
        (240 * MIN + S, "purple"),  # one second more breaches
        (600 * MIN, "purple"),
    ],
)
def test_four_hour_clock_in_department(after: timedelta, level: str) -> None:
    att = AttendanceFacts(arrived_at=ARRIVED)
    [alert] = [a for a in ae_alerts(att, ARRIVED + after, RULES) if a.code == "ae_4h"]
    assert (alert.symbol, alert.level) == ("4h", level)
    assert alert.due_at == ARRIVED + 240 * MIN


@pytest.mark.parametrize(
    ("stay_in_department", "breached"),
    [(200 * MIN, False), (240 * MIN, False), (240 * MIN + S, True)],
)
def test_clock_stops_when_the_patient_leaves(stay_in_department: timedelta, breached: bool) -> None:
    att = AttendanceFacts(arrived_at=ARRIVED, left_at=ARRIVED + stay_in_department)
    later = ARRIVED + 20 * H
    clock = ae_clock(att, later, RULES)
    assert clock.elapsed == stay_in_department
    assert clock.breached is breached
    assert not clock.twelve_hour_breached
    assert _codes(att, later) == ({"ae_4h": "purple"} if breached else {})


def test_admission_stops_the_clock_too() -> None:
    att = AttendanceFacts(arrived_at=ARRIVED, admitted_at=ARRIVED + 3 * H)
    assert ae_clock(att, ARRIVED + 9 * H, RULES).elapsed == 3 * H


@pytest.mark.parametrize(("after", "twelve"), [(720 * MIN, False), (720 * MIN + S, True)])
def test_twelve_hours_from_arrival(after: timedelta, twelve: bool) -> None:
    att = AttendanceFacts(arrived_at=ARRIVED)
    codes = _codes(att, ARRIVED + after)
    assert ("ae_12h" in codes) is twelve
    if twelve:
        assert codes["ae_12h"] == "purple"


@pytest.mark.parametrize(
    ("admitted_after_dta", "now_after_dta", "trolley"),
    [
        (None, 720 * MIN, False),
        (None, 720 * MIN + S, True),
        (720 * MIN, 30 * H, False),  # admitted at exactly 12 h: no trolley breach
        (720 * MIN + S, 30 * H, True),
    ],
)
def test_trolley_wait_from_decision_to_admit(
    admitted_after_dta: timedelta | None, now_after_dta: timedelta, trolley: bool
) -> None:
    dta = ARRIVED + 2 * H
    admitted = None if admitted_after_dta is None else dta + admitted_after_dta
    att = AttendanceFacts(arrived_at=ARRIVED, decision_to_admit_at=dta, admitted_at=admitted)
    codes = _codes(att, dta + now_after_dta)
    assert ("trolley_12h" in codes) is trolley
    assert codes["ae_4h"] == "purple"  # over 4 h in every case


DOCTORS = (
    DoctorInCharge(ARRIVED, "C1001", "Dr Ada Able"),
    DoctorInCharge(ARRIVED + 3 * H, "C1002", "Dr Ben Bright"),
    DoctorInCharge(ARRIVED + 6 * H, "C1003", "Dr Cal Cole"),
)


def test_breach_attributed_to_the_doctor_in_charge_when_the_clock_passed() -> None:
    att = AttendanceFacts(arrived_at=ARRIVED, responsible=DOCTORS)
    alerts = {a.code: a for a in ae_alerts(att, ARRIVED + 13 * H, RULES)}
    assert alerts["ae_4h"].responsible == Clinician("C1002", "Dr Ben Bright")  # not the current one
    assert alerts["ae_12h"].responsible == Clinician("C1003", "Dr Cal Cole")
    assert "Dr Ben Bright" in alerts["ae_4h"].detail
    assert alerts["ae_4h"].to_dict()["responsible"] == {"code": "C1002", "name": "Dr Ben Bright"}


def test_trolley_breach_attributed_at_decision_plus_12_hours() -> None:
    dta = ARRIVED + H
    att = AttendanceFacts(arrived_at=ARRIVED, decision_to_admit_at=dta, responsible=DOCTORS)
    trolley = next(a for a in ae_alerts(att, dta + 13 * H, RULES) if a.code == "trolley_12h")
    assert trolley.responsible == Clinician("C1003", "Dr Cal Cole")
    assert trolley.since == dta + 12 * H


def test_handover_at_the_threshold_instant_counts_for_the_incoming_doctor() -> None:
    doctors = [(ARRIVED, "C1", "Dr Out"), (ARRIVED + 240 * MIN, "C2", "Dr In")]
    att = AttendanceFacts(arrived_at=ARRIVED, responsible=doctors)  # plain tuples are accepted
    [alert] = ae_alerts(att, ARRIVED + 5 * H, RULES)
    assert alert.responsible == Clinician("C2", "Dr In")


def test_breach_with_no_doctor_recorded_yet() -> None:
    att = AttendanceFacts(arrived_at=ARRIVED, responsible=[(ARRIVED + 5 * H, "C9", "Dr Late")])
    [alert] = ae_alerts(att, ARRIVED + 6 * H, RULES)
    assert alert.responsible is None
    assert "no responsible doctor" in alert.detail


def test_warnings_are_not_attributed() -> None:
    att = AttendanceFacts(arrived_at=ARRIVED, responsible=DOCTORS)
    [alert] = ae_alerts(att, ARRIVED + 200 * MIN, RULES)
    assert alert.level == "red" and alert.responsible is None


@pytest.mark.parametrize(
    ("arrived_local", "complies_local", "breaches_local"),
    [
        # Clocks go forward 30 March 2025: 00:30 GMT + 4 h = 05:30 BST (wall clock says 5 h).
        (
            datetime(2025, 3, 30, 0, 30),
            datetime(2025, 3, 30, 5, 30),
            datetime(2025, 3, 30, 5, 30, 1),
        ),
        # Clocks go back 26 October 2025: 00:30 BST + 4 h = 03:30 GMT (wall clock says 3 h).
        (
            datetime(2025, 10, 26, 0, 30),
            datetime(2025, 10, 26, 3, 30),
            datetime(2025, 10, 26, 3, 30, 1),
        ),
    ],
)
def test_four_real_hours_across_daylight_saving(
    arrived_local: datetime, complies_local: datetime, breaches_local: datetime
) -> None:
    att = AttendanceFacts(arrived_at=arrived_local.replace(tzinfo=LONDON))
    assert _codes(att, complies_local.replace(tzinfo=LONDON))["ae_4h"] == "red"
    assert _codes(att, breaches_local.replace(tzinfo=LONDON))["ae_4h"] == "purple"


def test_levels_and_times_are_configurable() -> None:
    rules = ClinicalRules(ae=AeRules(warning_minutes=170, warning_level="amber"))
    att = AttendanceFacts(arrived_at=ARRIVED)
    assert _codes(att, ARRIVED + 170 * MIN, rules) == {"ae_4h": "amber"}
