"""settle_heap: a long-running process's start-up objects leave the collector's sight."""

import gc

from config.processes import settle_heap


def test_settle_heap_freezes_what_exists_and_makes_full_collections_rarer():
    before = gc.get_threshold()
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0
        young, middle, old = gc.get_threshold()
        assert (young, middle) == before[:2]
        assert old >= 100
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
