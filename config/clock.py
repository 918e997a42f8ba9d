"""The one clock the record, the boards and their time-based alerts read.

Alerts are a function of the record and "now"; taking now from here (never ``datetime.now``
scattered through the code) lets a test or a demo freeze or advance time for the whole server,
including the HTTP ``Date`` header the boards correct their own clocks by.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from config.db import utcnow


class Clock:
    """Real UTC time, unless frozen; ``advance`` moves a frozen clock forward."""

    def __init__(self) -> None:
        self._fixed: datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        fixed = self._fixed
        return utcnow() if fixed is None else fixed

    def freeze(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("freeze the clock at an aware datetime")
        with self._lock:
            self._fixed = at

    def advance(self, by: timedelta) -> datetime:
        with self._lock:
            self._fixed = (self._fixed or utcnow()) + by
            return self._fixed

    def release(self) -> None:
        with self._lock:
            self._fixed = None

    @property
    def frozen(self) -> bool:
        return self._fixed is not None
