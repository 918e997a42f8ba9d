"""bench/hospital_day.py end to end, tiny: a day in 30 seconds on three wards and the A&E.

Split processes on PostgreSQL and Redis, real MLLP, HTTP sign-on and Socket.IO boards, as the
full benchmark runs; the assertions are the ones the benchmark's figures rest on: nothing
lost, nothing applied twice, every patient on the right board at the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.hospital_day import DayOptions, Report, WardWatcher, check_board_finals, run_day


@pytest.mark.postgres
@pytest.mark.slow
def test_a_tiny_hospital_day_loses_and_doubles_nothing(postgres_server_url, redis_url, capsys):
    admin_url = postgres_server_url.rsplit("/", 1)[0] + "/postgres"
    opts = DayOptions(
        minutes=0.5,
        wards=3,
        viewers=2,
        board_processes=2,
        nurses=4,
        baseline_seconds=2,
        redis_url=redis_url,
        admin_url=admin_url,
        progress=None,
    )
    report = run_day(opts)

    assert report.errors == []
    assert report.lost == 0 and report.duplicated == 0
    assert report.wrong_boards == [] and report.record_mismatches == []
    assert report.ok()
    # The day did happen, through every door.
    assert report.hl7_sent["ADT arrival"] > 0 and report.hl7_sent["ORU"] > 0
    assert report.web_done["obs"] > 0 and report.boards == 3 + 1 + 2
    assert report.journal_states["applied"] == report.fill_messages + report.hl7_total
    assert report.forwarded["orders"] == report.forwarded_expected["orders"] > 0
    assert report.adt_to_board_ms and report.web_to_board_ms and report.baseline_ms
    assert report.database_mb > 0 and all(mb > 0 for mb in report.peak_memory_mb.values())


def test_the_final_board_check_catches_a_missing_a_misplaced_and_a_doubled_patient():
    """The end-of-day comparison is not vacuous: each kind of wrong board is reported."""
    watcher = WardWatcher(0, "W01")
    snapshot = {
        "patients": [
            {"key": "s-1", "hospital_number": "RM1", "bed": "A1"},
            {"key": "s-2", "hospital_number": "RM2", "bed": "A3"},  # should be in A2
            {"key": "s-3", "hospital_number": "RM3", "bed": "B1"},
            {"key": "s-3", "hospital_number": "RM3", "bed": "B1"},  # shown twice
        ],
        "bays": [],
    }
    events = watcher.on_board({"snapshot": snapshot}, 1.0)
    assert {(e[0], e[2]) for e in events} == {("in", "RM1"), ("in", "RM2"), ("in", "RM3")}
    expected = {"W01": {("RM1", "A1"): 1, ("RM2", "A2"): 1, ("RM3", "B1"): 1, ("RM4", "B2"): 1}}
    report = Report()
    check_board_finals(report, {0: ("W01", watcher.final())}, expected)
    [wrong] = report.wrong_boards
    for needle in ("RM2", "RM3", "RM4"):
        assert needle in wrong
    assert "RM1" not in wrong


def test_the_layout_is_a_thousand_beds_on_forty_wards_with_an_a_and_e():
    from bench.hospital_day import LARGE_LAYOUT
    from config.layout import load_layout

    layout = load_layout(Path(LARGE_LAYOUT))
    wards = [w for w in layout.wards if w.kind == "ward"]
    assert len(wards) == 40
    assert sum(len(bay.beds) for w in wards for bay in w.bays) == 1000
    assert [w.code for w in layout.wards if w.kind == "ae"] == ["AE"]
