"""Keeping a computed report, and its chart images, for the requests that follow it.

Why: a manager opening a report page makes three requests for the same figures (the page, its
chart, then often a CSV), and each used to compute the report again. A result is kept for a
short time (``WARDBOARD_REPORT_CACHE_SECONDS``, default 60; 0 keeps nothing), so the figures
may be up to that old; reports are about past days, and the page says when it was computed.

Chart images are also kept by their content: a chart is a pure function of the report's
tables, so one drawn for identical figures is the same image, however old. That keeps
matplotlib (100-200 ms a chart) out of most chart requests without ever showing a stale chart.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_RESULTS = 32
MAX_CHARTS = 256


@dataclass
class CachedReport:
    result: Any
    computed_at: datetime
    stored: float  # time.monotonic() when computed
    tables: Any = None
    content_key: str = ""


@dataclass
class ReportCache:
    ttl_seconds: float
    _results: OrderedDict[Hashable, CachedReport] = field(default_factory=OrderedDict)
    _charts: OrderedDict[Hashable, bytes] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def report(
        self, key: Hashable, compute: Callable[[], Any], now: datetime, tables: Callable[[Any], Any]
    ) -> CachedReport:
        """The kept result for ``key`` if younger than the TTL, else computed now (outside the
        lock, so one slow report does not hold up others)."""
        if self.ttl_seconds > 0:
            with self._lock:
                entry = self._results.get(key)
                if entry is not None and time.monotonic() - entry.stored < self.ttl_seconds:
                    self._results.move_to_end(key)
                    return entry
        result = compute()
        laid_out = tables(result)
        digest = hashlib.sha256(repr(laid_out).encode()).hexdigest()
        entry = CachedReport(result, now, time.monotonic(), laid_out, digest)
        if self.ttl_seconds > 0:
            with self._lock:
                self._results[key] = entry
                while len(self._results) > MAX_RESULTS:
                    self._results.popitem(last=False)
        return entry

    def chart(self, key: Hashable, render: Callable[[], bytes]) -> bytes:
        """An image by content key (report, format, digest of its tables)."""
        with self._lock:
            image = self._charts.get(key)
            if image is not None:
                self._charts.move_to_end(key)
                return image
        image = render()
        with self._lock:
            self._charts[key] = image
            while len(self._charts) > MAX_CHARTS:
                self._charts.popitem(last=False)
        return image

    def clear(self) -> None:
        with self._lock:
            self._results.clear()
            self._charts.clear()
