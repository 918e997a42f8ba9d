"""Pure pieces of the clinical board: the clock, the A&E shift start, the re-push signature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from config.clinical import ClinicalRules
from config.clock import Clock
from whiteboard.board.alerts_snapshot import alert_signature, evaluation_minute, shift_start


def test_clock_freezes_advances_and_releases():
    clock = Clock()
    at = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    clock.freeze(at)
    assert clock.now() == at and clock.frozen
    assert clock.advance(timedelta(minutes=5)) == at + timedelta(minutes=5)
    clock.release()
    assert not clock.frozen and clock.now() > at - timedelta(days=1)
    with pytest.raises(ValueError):
        clock.freeze(datetime(2026, 11, 22, 9, 0))


@pytest.mark.parametrize(
    ("now", "start"),
    [
        (datetime(2026, 11, 22, 8, 0, tzinfo=UTC), datetime(2026, 11, 22, 8, 0, tzinfo=UTC)),
        (datetime(2026, 11, 22, 19, 59, tzinfo=UTC), datetime(2026, 11, 22, 8, 0, tzinfo=UTC)),
        (datetime(2026, 11, 22, 3, 0, tzinfo=UTC), datetime(2026, 11, 21, 20, 0, tzinfo=UTC)),
        # British Summer Time: shifts start at 08:00 local = 07:00 UTC.
        (datetime(2026, 7, 1, 7, 30, tzinfo=UTC), datetime(2026, 7, 1, 7, 0, tzinfo=UTC)),
    ],
)
def test_shift_start_is_the_latest_local_0800_or_2000(now, start):
    assert shift_start(now, ClinicalRules()) == start


def test_evaluation_minute_drops_seconds():
    now = datetime(2026, 11, 22, 9, 14, 59, 999, tzinfo=UTC)
    assert evaluation_minute(now) == datetime(2026, 11, 22, 9, 14, tzinfo=UTC)


def test_signature_changes_with_level_not_with_labels():
    def snap(level, label):
        alert = {"code": "ae_4h", "level": level, "label": label, "ref": None}
        return {"patients": [{"key": "s-1", "alerts": [alert]}]}

    assert alert_signature(snap("red", "3h01")) == alert_signature(snap("red", "3h02"))
    assert alert_signature(snap("red", "3h59")) != alert_signature(snap("purple", "4h01"))
