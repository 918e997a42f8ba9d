"""Which nursing shift a moment falls in: the boundaries, the night that crosses midnight and
belongs to the day it started, and the settings that name the start times."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from config.settings import Settings
from whiteboard.shifts import ShiftTimes, shift_at, shift_of

LONDON = ZoneInfo("Europe/London")
TIMES = ShiftTimes(time(7, 30), time(19, 30), LONDON)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 22, 7, 29, tzinfo=UTC), (date(2026, 11, 21), "night")),
        (datetime(2026, 11, 22, 7, 30, tzinfo=UTC), (date(2026, 11, 22), "day")),
        (datetime(2026, 11, 22, 19, 29, tzinfo=UTC), (date(2026, 11, 22), "day")),
        (datetime(2026, 11, 22, 19, 30, tzinfo=UTC), (date(2026, 11, 22), "night")),
        (datetime(2026, 11, 23, 0, 0, tzinfo=UTC), (date(2026, 11, 22), "night")),
        # British Summer Time: 07:00 UTC is 08:00 local, the day shift.
        (datetime(2026, 7, 1, 7, 0, tzinfo=UTC), (date(2026, 7, 1), "day")),
        (datetime(2026, 7, 1, 6, 0, tzinfo=UTC), (date(2026, 6, 30), "night")),
    ],
)
def test_shift_at(moment, expected):
    shift = shift_at(moment, TIMES)
    assert (shift.date, shift.name) == expected
    assert shift.starts_at <= moment < shift.ends_at


def test_the_night_the_clocks_go_back_is_an_hour_longer():
    night = shift_of(date(2026, 10, 24), "night", TIMES)
    hours = (night.ends_at.astimezone(UTC) - night.starts_at.astimezone(UTC)).total_seconds()
    assert hours == 13 * 3600  # 19:30 BST to 07:30 GMT
    assert night.label == "Night shift Sat 24 Oct 2026, 19:30 to 07:30"


def test_an_unknown_shift_name_is_refused():
    with pytest.raises(ValueError, match="day, night"):
        shift_of(date(2026, 10, 24), "late", TIMES)


def test_settings_name_the_shift_times_and_refuse_bad_ones(tmp_path):
    env = {"WARDBOARD_DAY_SHIFT_STARTS": "08:00", "WARDBOARD_NIGHT_SHIFT_STARTS": "20:00"}
    settings = Settings.from_env(env, instance_path=tmp_path)
    times = ShiftTimes.from_settings(settings)
    assert (times.day_starts, times.night_starts) == (time(8), time(20))
    with pytest.raises(ValueError, match="WARDBOARD_DAY_SHIFT_STARTS must be a time"):
        Settings.from_env({"WARDBOARD_DAY_SHIFT_STARTS": "8am"}, instance_path=tmp_path)
    with pytest.raises(ValueError, match="before WARDBOARD_NIGHT_SHIFT_STARTS"):
        Settings.from_env({"WARDBOARD_DAY_SHIFT_STARTS": "21:00"}, instance_path=tmp_path)
