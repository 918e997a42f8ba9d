"""The garbage collector during a bulk GP-feed run: full collections made rare.

A run keeps a view of every patient it met (``mpi.feed_view``: states, prepared records,
key sets, blocks), millions of long-lived objects, and makes millions of short-lived ones
deciding rows. With CPython's default thresholds (700, 10, 10) a full collection -- a scan
of every tracked object -- came every 10 middle-generation collections once the heap had
grown by a quarter: on a 100,000-row first load 23 full and 702 middle collections took
14.8 s of the deciding thread's 34.8 s (``gc.callbacks`` in ``bench/gp_feed_decide.py``;
docs/BENCHMARKS.md, 2026-12-01 late night). What a run leaves for the collector is almost
all either freed by reference counting (rows, records, decisions) or alive until the run
ends (the view), so scanning the old generation finds next to nothing.

``collector_for_bulk_run`` raises the young threshold (fewer, larger young collections)
and makes full collections a hundred times rarer for the run, and puts the process's
thresholds back afterwards (the 02:00 job runs inside a long-lived process). Nothing is
frozen: ``config.processes.settle_heap`` may have frozen a process's start-up heap, and
``gc.unfreeze`` would undo that. Decisions do not depend on the collector.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG = 50_000  # net allocations between young collections (default 700)
OLD = 1_000  # middle collections between full ones (default 10)


@contextmanager
def collector_for_bulk_run() -> Iterator[None]:
    """Fewer young collections and rare full ones while the block runs; restored after."""
    before = gc.get_threshold()
    young, middle, old = before
    gc.set_threshold(max(young, YOUNG), middle, max(old, OLD))
    try:
        yield
    finally:
        gc.set_threshold(*before)
