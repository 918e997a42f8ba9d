"""Managers' report figures against hand-computed values for the fixture hospital
(tests/reports_fixture.py: the night the clocks go back, a stay crossing midnight twice)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.reports_fixture import NOW, build_hospital
from whiteboard.reports.ae import ae_performance
from whiteboard.reports.discharges import discharges_before_noon
from whiteboard.reports.length_of_stay import length_of_stay_report
from whiteboard.reports.occupancy import occupancy
from whiteboard.reports.period import Period, day_bounds

TZ = ZoneInfo("Europe/London")
D24, D25, D26 = date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 26)


@pytest.fixture
def hospital(services):
    with services.uow_factory() as uow:
        build_hospital(uow.session, with_vte_table=False)
        uow.commit()
    return services


def test_clock_change_days_have_23_and_25_hours():
    start, end = day_bounds(D25, TZ)
    assert end - start == timedelta(hours=25)
    start, end = day_bounds(date(2026, 3, 29), TZ)
    assert end - start == timedelta(hours=23)


def test_ae_four_hour_performance(hospital):
    rules = hospital.settings.clinical
    with hospital.read_session() as s:
        perf = ae_performance(s, Period(D24, D26), TZ, rules, NOW)
    # A3 arrived 23:30Z on the 24th = 00:30 BST on the 25th, so it is the 25th's.
    assert perf.by_day[D24].attendances == 0
    day = perf.by_day[D25]
    assert (day.attendances, day.breaches, day.twelve_hours) == (3, 2, 1)  # A1 complies at 240
    assert (perf.by_day[D26].attendances, perf.by_day[D26].breaches) == (1, 0)
    assert (perf.total.attendances, perf.total.breaches) == (4, 2)
    assert perf.total.percent_within == 50.0
    assert perf.breaches_by_clinician == {"Dr A Okafor": 1, "Dr B Brown": 1}
    assert [w["minutes"] for w in perf.twelve_hour_waits] == [13 * 60]
    # A3's trolley wait (decision to admit 00:30Z -> admitted 12:30Z) is exactly 720 min:
    # within the standard, though it is a 12-hour wait from arrival.
    (a3,) = perf.twelve_hour_waits
    assert (a3["trolley_minutes"], a3["over_12h_from_arrival"], a3["trolley_wait"]) == (
        720,
        True,
        False,
    )
    assert perf.total.trolley_waits == 0
    # Week of Monday 19 October holds the 24th and 25th; the 26th starts a new week.
    assert perf.by_week[date(2026, 10, 19)].attendances == 3
    assert perf.by_week[D26].attendances == 1


def test_discharges_before_noon_in_local_time(hospital):
    rules = hospital.settings.clinical
    with hospital.read_session() as s:
        report = discharges_before_noon(s, Period(D24, D26), TZ, rules)
    # BST 11:30 BST (10:30Z) before; NOON 12:30 BST (11:30Z) after; SHORT 16:00 after;
    # TWICE 01:00 GMT on the 26th before.
    assert (report.by_day[D24].discharges, report.by_day[D24].before_noon) == (2, 1)
    assert (report.by_day[D25].discharges, report.by_day[D25].before_noon) == (1, 0)
    assert (report.by_day[D26].discharges, report.by_day[D26].before_noon) == (1, 1)
    assert report.total.percent == 50.0
    assert report.standard_percent == 33.0


def test_length_of_stay(hospital):
    with hospital.read_session() as s:
        report = length_of_stay_report(s, Period(D24, D26), TZ, NOW)
    # SHORT 6 h -> 0 days; TWICE 27 h -> 1; BST 8 days; NOON 23 days.
    assert report.discharges == 4
    assert report.distribution == {
        "0 days": 1,
        "1 day": 1,
        "2-3 days": 0,
        "4-6 days": 0,
        "7-13 days": 1,
        "14-20 days": 0,
        "21+ days": 1,
    }
    assert report.long_stays == {7: 2, 14: 1, 21: 1}


def test_occupancy_midnight_census_and_fractional_bed_days(hospital):
    with hospital.read_session() as s:
        occ = occupancy(s, Period(D25, D26), TZ, NOW)
    # TWICE is on AMU at 00:00 BST on the 25th (23:00Z) and at 00:00 GMT on the 26th.
    assert occ.census[D25] == {"AMU": 1, "W4": 0}
    assert occ.census[D26] == {"AMU": 1, "W4": 0}
    # Period: 2026-10-24T23:00Z to 2026-10-27T00:00Z. TWICE inside it: 23:00Z -> 01:00Z
    # two days later = 26 h; SHORT 6 h = 0.25.
    assert occ.bed_days_by_ward["AMU"] == pytest.approx(26 / 24)
    assert occ.bed_days_by_ward["W4"] == pytest.approx(0.25)
    assert occ.bed_days_by_consultant == pytest.approx({"Dr A Okafor": 26 / 24, "Dr B Brown": 0.25})
    assert occ.beds_by_ward == {"AMU": 5, "W4": 2}


def test_a_stay_over_the_whole_period_is_in_every_census(hospital):
    with hospital.read_session() as s:
        occ = occupancy(s, Period(D24, D24), TZ, NOW)
    # At 00:00 BST on the 24th (2026-10-23T23:00Z) nobody in the fixture was in a bed.
    assert occ.census[D24] == {"AMU": 0, "W4": 0}
    # Inside the 24th (23:00Z 23rd -> 23:00Z 24th): TWICE from 22:00Z = 1 h.
    assert occ.bed_days_by_ward["AMU"] == pytest.approx(1 / 24)


def test_spring_forward_night_census_and_bed_days(services):
    """Clocks go forward at 01:00 UTC on Sunday 29 March 2026: that day has 23 hours."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from mpi.models import Patient
    from whiteboard.models import BedOccupancy, Clinician, Stay, Ward

    def z(text_: str) -> datetime:
        return datetime.fromisoformat(text_).replace(tzinfo=UTC)

    with services.uow_factory() as uow:
        s = uow.session
        amu = s.scalars(select(Ward).where(Ward.code == "AMU")).one()
        okafor = s.scalars(select(Clinician).where(Clinician.code == "C1234567")).one()
        stay = Stay(
            patient=Patient(family_name="Spring", given_names="Sam"),
            patient_class="I",
            state="discharged",
            ward=amu,
            clinician=okafor,
            admitted_at=z("2026-03-28T23:00"),  # 23:00 GMT on the 28th
            discharged_at=z("2026-03-29T23:00"),  # 00:00 BST on the 30th: 24 real hours
        )
        s.add(stay)
        s.flush()
        s.add(
            BedOccupancy(
                stay_id=stay.id,
                ward_id=amu.id,
                clinician_id=okafor.id,
                started_at=stay.admitted_at,
                ended_at=stay.discharged_at,
            )
        )
        uow.commit()
    d29, d30 = date(2026, 3, 29), date(2026, 3, 30)
    with services.read_session() as s:
        occ = occupancy(s, Period(d29, d30), TZ, NOW)
        noon = discharges_before_noon(s, Period(d29, d30), TZ, services.settings.clinical)
    # In at 00:00 GMT on the 29th; out exactly at 00:00 BST on the 30th (not counted then).
    assert occ.census[d29]["AMU"] == 1
    assert occ.census[d30]["AMU"] == 0
    # The whole 23-hour local day of the 29th, as real time: 23/24 of a bed-day.
    assert occ.bed_days_by_ward["AMU"] == pytest.approx(23 / 24)
    # Discharged at 00:00 BST on the 30th: a discharge on the 30th, before noon.
    assert (noon.by_day[d30].discharges, noon.by_day[d30].before_noon) == (1, 1)


def test_vte_within_14_hours_report(services):
    from tests.reports_fixture import drop_vte_table
    from whiteboard.reports.vte_standard import vte_within_standard

    with services.uow_factory() as uow:
        build_hospital(uow.session, with_vte_table=True)
        uow.commit()
    rules = services.settings.clinical
    try:
        with services.read_session() as s:
            at_seven = vte_within_standard(
                s, Period(D25, D25), TZ, rules, datetime(2026, 10, 26, 7, 0, tzinfo=UTC)
            )
            later = vte_within_standard(
                s, Period(D25, D25), TZ, rules, datetime(2026, 10, 26, 13, 30, 1, tzinfo=UTC)
            )
    finally:
        with services.uow_factory() as uow:
            drop_vte_table(uow.session)
            uow.commit()
    # Admitted on the 25th (local): P1, P2, P4 (aged 12: not counted), P8 (Okafor); P5 and
    # SHORT (Brown); CANCELLED is left out. P1 in time (exactly 14 h); P8 1 s late; P5 and
    # SHORT never assessed; P2 (23:30 GMT) is not due until 13:30 on the 26th.
    assert at_seven.available
    t = at_seven.total
    assert (t.counted, t.met, t.not_met, t.not_yet_due) == (5, 1, 3, 1)
    assert t.percent == 25.0
    # One second after 13:30 UTC on the 26th P2's 14 hours have passed too, unassessed.
    t = later.total
    assert (t.counted, t.met, t.not_met, t.not_yet_due) == (5, 1, 4, 0)
    assert later.standard_percent == 95.0


def test_observations_on_time_across_the_night_the_clocks_go_back(hospital):
    """Hand-computed in tests/reports_fixture.py (add_observations)."""
    from whiteboard.reports.observations_on_time import observations_on_time

    rules = hospital.settings.clinical
    with hospital.read_session() as s:
        report = observations_on_time(s, Period(D24, D26), TZ, rules, NOW)
        one_day = observations_on_time(s, Period(D25, D25), TZ, rules, NOW)

    def figures(c):
        return (c.due, c.on_time, c.late, c.not_taken, c.continuous, c.not_yet_due)

    # The 25th (25 hours): a, c, e, t2 on time; b (due 04:00 GMT) and t1 late; t3 and c1 not
    # taken; d continuous. All on AMU.
    assert figures(one_day.total) == (8, 4, 2, 2, 1, 0)
    assert one_day.total.percent == 50.0
    assert one_day.wards == ["AMU"]
    # Over the 24th-26th: z on the 24th; f (AMU) and p1 (W4) on the 26th; p2 not yet due.
    assert figures(report.total) == (11, 6, 2, 3, 1, 1)
    assert report.by_ward["AMU"].due == 10 and report.by_ward["AMU"].on_time == 5
    assert figures(report.by_ward["W4"]) == (1, 1, 0, 0, 0, 1)
    week19, week26 = date(2026, 10, 19), D26
    assert figures(report.by_week[week19]) == (9, 5, 2, 2, 1, 0)
    assert report.by_week[week19].percent == pytest.approx(500 / 9)
    assert figures(report.by_week[week26]) == (2, 1, 0, 1, 0, 1)
    assert figures(report.by_ward_week[("AMU", week26)]) == (1, 0, 0, 1, 0, 0)
    assert figures(report.by_ward_week[("W4", week26)]) == (1, 1, 0, 0, 0, 1)


def test_twelve_hour_waits_on_both_clocks(hospital):
    """A4 arrived 09:00Z on the 26th, decision to admit 09:30Z, still in the department."""
    rules = hospital.settings.clinical
    just_before = datetime(2026, 10, 26, 21, 30, tzinfo=UTC)  # trolley clock exactly 12 h
    just_after = just_before + timedelta(seconds=1)
    with hospital.read_session() as s:
        before = ae_performance(s, Period(D26, D26), TZ, rules, just_before)
        after = ae_performance(s, Period(D26, D26), TZ, rules, just_after)
    # At 21:30Z: 12 h 30 min from arrival (a 12-hour wait), exactly 12 h on the trolley.
    day = before.by_day[D26]
    assert (day.attendances, day.twelve_hours, day.trolley_waits) == (1, 1, 0)
    # One second later the trolley wait is over 12 h too.
    day = after.by_day[D26]
    assert (day.attendances, day.twelve_hours, day.trolley_waits) == (1, 1, 1)
    (a4,) = after.twelve_hour_waits
    assert (a4["minutes"], a4["trolley_minutes"], a4["still_in_department"]) == (750, 720, True)
    assert a4["decision_to_admit_at"].strftime("%H:%M %Z") == "09:30 GMT"
    assert after.by_week[D26].trolley_waits == 1 and after.total.trolley_waits == 1


def test_breaches_go_to_the_doctor_in_charge_when_the_four_hours_ran_out(services):
    """Hand-built attendances on Monday 2 November 2026 (GMT), each with its handovers in the
    clinician history; the doctor on the record at the end is not the one who is counted.

    H1 arrived 10:00Z, left 16:00Z: Okafor 10:00, Brown 13:30 (before the 14:00Z mark),
       Chen 15:00 (after): Brown
    H2 arrived 10:00Z, left 15:00Z: Okafor 10:00, Brown 14:30 (after the mark): Okafor
    H3 arrived 11:00Z, left 16:00Z: Okafor 11:00, Chen 15:00 exactly at the mark: Chen
    H4 arrived 09:00Z, left 13:30Z, no history, Brown on the record: Brown
    H5 arrived 12:00Z, still in at 18:00Z: Okafor 12:00, Brown 17:00 (after 16:00Z): Okafor
    H6 arrived 08:00Z, left 12:00Z (exactly 240 min: no breach), Okafor then Chen 09:00
    """
    from sqlalchemy import select

    from mpi.models import Patient
    from whiteboard.alerts.evaluate import alerts_for_attendance
    from whiteboard.alerts.facts import DoctorInCharge
    from whiteboard.board.clinical_facts import (
        attendance_facts,
        clinician_name,
        load_clinical_rows,
    )
    from whiteboard.models import Clinician, ResponsibleClinician, Stay, Ward

    def z(text_: str) -> datetime:
        return datetime.fromisoformat(text_).replace(tzinfo=UTC)

    with services.uow_factory() as uow:
        s = uow.session
        ae = s.scalars(select(Ward).where(Ward.code == "AE")).one()
        okafor = s.scalars(select(Clinician).where(Clinician.code == "C1234567")).one()
        brown = Clinician(code="C7100001", family_name="Brown", given_names="Beatrice")
        chen = Clinician(code="C7100002", family_name="Chen", given_names="Wei")
        s.add_all([brown, chen])
        s.flush()
        for label, arrived, left, history, on_record in (
            ("H1", "10:00", "16:00", [(okafor, "10:00"), (brown, "13:30"), (chen, "15:00")], chen),
            ("H2", "10:00", "15:00", [(okafor, "10:00"), (brown, "14:30")], brown),
            ("H3", "11:00", "16:00", [(okafor, "11:00"), (chen, "15:00")], chen),
            ("H4", "09:00", "13:30", [], brown),
            ("H5", "12:00", None, [(okafor, "12:00"), (brown, "17:00")], brown),
            ("H6", "08:00", "12:00", [(okafor, "08:00"), (chen, "09:00")], chen),
        ):
            stay = Stay(
                patient=Patient(family_name=f"Handover{label}", given_names="Pat"),
                patient_class="E",
                state="discharged" if left else "active",
                ward=ae,
                clinician=on_record,
                admitted_at=z(f"2026-11-02T{arrived}"),
                discharged_at=z(f"2026-11-02T{left}") if left else None,
            )
            s.add(stay)
            s.flush()
            for doctor, start in history:
                s.add(
                    ResponsibleClinician(
                        stay_id=stay.id, clinician_id=doctor.id, from_time=z(f"2026-11-02T{start}")
                    )
                )
        uow.commit()
    now = z("2026-11-02T18:00")
    rules = services.settings.clinical
    day = date(2026, 11, 2)
    with services.read_session() as s:
        perf = ae_performance(s, Period(day, day), TZ, rules, now)
        # The board's own attribution, for comparison: its loader and rule, one by one (the
        # doctor on the record counts from arrival when there is no history, as on the board).
        stays = s.execute(
            select(Stay.id, Stay.admitted_at, Stay.discharged_at, Stay.state, Clinician)
            .join(Clinician, Clinician.id == Stay.clinician_id)
            .where(Stay.patient_class == "E")
        ).all()
        rows = load_clinical_rows(s, [r.id for r in stays])
        board: dict[str, int] = {}
        for r in stays:
            doc = r.Clinician
            current = DoctorInCharge(
                r.admitted_at,
                doc.code,
                clinician_name(doc.prefix, doc.given_names, doc.family_name),
            )
            att = attendance_facts(
                r.id,
                r.admitted_at,
                rows[r.id],
                state=r.state,
                ended_at=r.discharged_at,
                current_doctor=current,
            )
            for alert in alerts_for_attendance(att, now, rules):
                if alert.code == "ae_4h" and alert.responsible is not None:
                    board[alert.responsible.name] = board.get(alert.responsible.name, 0) + 1
    assert perf.by_day[day].attendances == 6 and perf.by_day[day].breaches == 5
    assert perf.breaches_by_clinician == {"Dr A Okafor": 2, "Dr B Brown": 2, "Dr W Chen": 1}
    assert board == perf.breaches_by_clinician
