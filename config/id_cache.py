"""Ids of reference rows (wards, beds, clinicians) remembered by their codes between transactions.

Every ADT message names its ward, bed and doctor by code; looking each up by code is a query
(and a statement built) per message. The ids hardly ever change, so the unit-of-work factory
keeps one of these for all its transactions. It is only ever a hint: a caller loads the row by
id (``Session.get``: no query at all when the transaction already holds it), checks the code
still matches and otherwise forgets the entry and asks the database again, so a ward re-laid
out, a bed removed or a clinician rolled back with its savepoint is never served stale.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable


class IdCache:
    def __init__(self, limit: int = 50_000) -> None:
        self._ids: dict[tuple[str, Hashable], int] = {}
        self._lock = threading.Lock()
        self._limit = limit  # clinicians are open-ended: a bound keeps a long run's memory flat

    def get(self, kind: str, key: Hashable) -> int | None:
        return self._ids.get((kind, key))

    def put(self, kind: str, key: Hashable, row_id: int | None) -> None:
        if row_id is None:
            return
        with self._lock:
            if len(self._ids) >= self._limit:
                self._ids.clear()
            self._ids[(kind, key)] = row_id

    def forget(self, kind: str, key: Hashable) -> None:
        with self._lock:
            self._ids.pop((kind, key), None)
