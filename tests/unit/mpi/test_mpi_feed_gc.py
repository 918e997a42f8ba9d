"""The bulk feed's collector settings last for the run only (the 02:00 job's process lives on)."""

from __future__ import annotations

import gc

import pytest

from mpi.feed_gc import OLD, YOUNG, collector_for_bulk_run


def test_thresholds_are_raised_for_the_run_and_put_back() -> None:
    before = gc.get_threshold()
    with collector_for_bulk_run():
        young, _middle, old = gc.get_threshold()
        assert young >= YOUNG and old >= OLD
    assert gc.get_threshold() == before


def test_thresholds_are_put_back_when_the_run_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), collector_for_bulk_run():
        raise RuntimeError("the run failed")
    assert gc.get_threshold() == before
