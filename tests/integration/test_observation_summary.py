"""The "observations on time" summary gives the figures the direct count gives, on the
hand-computed fixture hospital (tests/reports_fixture.py, around the night the clocks go back),
after a build and after units of work that change what it counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.reports_fixture import NOW, ZERO, build_hospital, z
from whiteboard.clinical_commands import RecordObservations
from whiteboard.models import Observation, ObservationDaySummary, Stay
from whiteboard.reports import observation_summary
from whiteboard.reports.observations_on_time import observations_on_time
from whiteboard.reports.period import Period

TZ = ZoneInfo("Europe/London")
D24, D25, D26 = date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 26)
PERIODS = [
    Period(D24, D26),
    Period(D25, D25),  # 25 hours
    Period(D24, D24),
    Period(D26, D26),
    Period(date(2026, 10, 1), date(2026, 11, 30)),
]


def figures(c):
    return (c.due, c.on_time, c.late, c.not_taken, c.continuous, c.not_yet_due)


def everything(report):
    return (
        figures(report.total),
        {k: figures(v) for k, v in report.by_week.items()},
        {k: figures(v) for k, v in report.by_ward.items()},
        {k: figures(v) for k, v in report.by_ward_week.items()},
        report.wards,
    )


def assert_same_as_direct(services, now):
    rules = services.settings.clinical
    with services.read_session() as s:
        for period in PERIODS:
            direct = observations_on_time(s, period, TZ, rules, now, use_summary=False)
            summary = observations_on_time(s, period, TZ, rules, now)
            assert direct.source == "direct" and summary.source == "summary"
            assert everything(summary) == everything(direct), period


def build(services):
    return observation_summary.build(
        lambda: observation_summary.write_transaction(services.uow_factory),
        TZ,
        services.settings.clinical,
    )


@pytest.fixture
def hospital(services):
    with services.uow_factory() as uow:
        ids = build_hospital(uow.session, with_vte_table=False)
        uow.commit()
    return services, ids


def test_summary_counts_what_the_direct_count_counts(hospital):
    services, _ids = hospital
    rules = services.settings.clinical
    with services.read_session() as s:
        before = observations_on_time(s, Period(D25, D25), TZ, rules, NOW)
    assert before.source == "direct"  # not built yet: counted directly
    assert build(services) > 0
    # "Now" when P7's last set (p2, due 12:00Z on the 26th) is exactly due, and a second
    # later when it is not taken: the one figure that depends on "now".
    for now in (NOW, NOW + timedelta(seconds=1), NOW + timedelta(days=3)):
        assert_same_as_direct(services, now)
    with services.read_session() as s:
        one_day = observations_on_time(s, Period(D25, D25), TZ, rules, NOW)
        three = observations_on_time(s, Period(D24, D26), TZ, rules, NOW)
        later = observations_on_time(s, Period(D24, D26), TZ, rules, NOW + timedelta(seconds=1))
    assert one_day.source == "summary"
    # The hand-computed figures (tests/reports_fixture.py): the 25th has 25 hours; b was due
    # at 04:00 GMT (four real hours after 00:00Z) and came at 04:30Z: late.
    assert figures(one_day.total) == (8, 4, 2, 2, 1, 0)
    assert figures(three.total) == (11, 6, 2, 3, 1, 1)
    assert figures(three.by_ward["W4"]) == (1, 1, 0, 0, 0, 1)
    assert figures(later.total) == (12, 6, 2, 4, 1, 0)  # p2 now not taken


def test_units_of_work_keep_the_summary_exact(hospital):
    services, ids = hospital
    build(services)
    # A nurse records P6's overdue set at 06:00Z on the 26th through the real command: f (due
    # 05:00Z) turns from "not taken" to late, and the new set falls due at 18:00Z (score 0).
    services.bus.handle(
        RecordObservations(
            occurred_at=z("2026-10-26T06:00"),
            stay_id=ids["P6"],
            actor="N0000001",
            actor_role="nurse",
            taken_at=z("2026-10-26T06:00"),
            **ZERO,
        )
    )
    assert_same_as_direct(services, NOW)
    rules = services.settings.clinical
    with services.read_session() as s:
        three = observations_on_time(s, Period(D24, D26), TZ, rules, NOW)
    assert figures(three.total) == (11, 6, 3, 2, 1, 2)

    # A set entered late for an earlier time re-pairs the sets around it: P6 at 18:00Z on the
    # 25th, between f (17:00Z, due 05:00Z on the 26th) and the 06:00Z set. f's next set is now
    # this one, well before f was due: on time (was late). The late entry itself (score 0, due
    # 06:00Z on the 26th) is met exactly by the 06:00Z set: on time.
    with services.uow_factory() as uow:
        uow.session.add(
            Observation(
                stay_id=ids["P6"],
                taken_at=z("2026-10-25T18:00"),
                recorded_by="N0000001",
                news2_total=0,
                news2_band="low",
                **ZERO,
            )
        )
        uow.commit()
    assert_same_as_direct(services, NOW)
    with services.read_session() as s:
        three = observations_on_time(s, Period(D24, D26), TZ, rules, NOW)
    assert figures(three.total) == (12, 8, 2, 2, 1, 2)

    # P4 (aged 12) turns out to have left at 15:00Z on the 25th, before c1 fell due at 16:00Z:
    # c1 is left out instead of "not taken".
    with services.uow_factory() as uow:
        stay = uow.session.get(Stay, ids["P4"])
        stay.state, stay.discharged_at = "discharged", z("2026-10-25T15:00")
        uow.commit()
    assert_same_as_direct(services, NOW)
    with services.read_session() as s:
        three = observations_on_time(s, Period(D24, D26), TZ, rules, NOW)
    assert figures(three.total) == (11, 8, 2, 1, 1, 2)


def test_summary_is_not_read_for_another_basis_or_a_set_after_now(hospital):
    services, _ids = hospital
    build(services)
    rules = services.settings.clinical
    with services.read_session() as s:
        other_zone = observations_on_time(s, Period(D25, D25), ZoneInfo("UTC"), rules, NOW)
        early = observations_on_time(
            s, Period(D25, D25), TZ, rules, datetime(2026, 10, 25, 12, 0, tzinfo=UTC)
        )
        rows = s.scalar(select(func.count()).select_from(ObservationDaySummary))
    assert other_zone.source == "direct"  # built for Europe/London
    assert early.source == "direct"  # sets after that "now" exist
    assert rows > 0


def test_cli_builds_the_summary_with_progress(hospital, runner, monkeypatch):
    from config.cli import cli

    services, _ids = hospital
    monkeypatch.setenv("WARDBOARD_DATABASE_URL", services.settings.database_url)
    result = runner.invoke(cli, ["reports", "build-observation-summary"])
    assert result.exit_code == 0, result.output
    assert "counting the observation sets of 5 stays" in result.output
    assert "5/5 stays (100%)" in result.output
    assert "observation summary ready" in result.output
    assert_same_as_direct(services, NOW)
