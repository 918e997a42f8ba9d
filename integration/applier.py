"""The applier: one thread that applies journalled messages in journal order.

Messages from one sender must change the record in the order they were sent (admit before
transfer before discharge); the journal's id order is that order, and one thread taking the
journal's committed entries in id order keeps it. Senders that wait for the result ("sync")
wait on a future; "async" senders were acknowledged when the journal committed and never wait.

A backlog is applied in batches (one transaction, a savepoint per message, one commit), with
a time budget per batch so the ACK path's journal commits never wait long for the write lock.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from integration.hl7.header import Header

log = logging.getLogger(__name__)

BatchApply = Callable[[list["Job"], float | None], list[Any]]


@dataclass(frozen=True)
class Job:
    entry_id: int
    raw: bytes
    header: Header
    received_at: datetime
    acked: bool  # the sender already has its ACK (async): a failure must not replace it


class Applier:
    def __init__(
        self,
        apply_batch: BatchApply,
        before_each: Callable[[], None] | None = None,
        budget: Callable[[], float] | None = None,
        max_batch: int = 200,
        after_each: Callable[[], None] | None = None,
    ) -> None:
        self._apply_batch = apply_batch
        self._before_each = before_each
        self._after_each = after_each
        self._budget = budget
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._pending: dict[int, Future[Any]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.applied = 0

    def enqueue(self, job: Job) -> Future[Any]:
        """Queue ``job`` (once: a job already waiting shares its future) and return the future."""
        self._ensure_started()
        with self._lock:
            future = self._pending.get(job.entry_id)
            if future is not None:
                return future
            future = Future()
            self._pending[job.entry_id] = future
        self._queue.put(job)
        return future

    def backlog(self) -> int:
        with self._lock:
            return len(self._pending)

    def stop(self) -> None:
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout=30)
        self._thread = None

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="hl7-applier", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        held: deque[Job] = deque()
        stopping = False
        while True:
            if not held:
                if stopping:
                    return
                job = self._queue.get()
                if job is None:
                    return
                held.append(job)
            while len(held) < self.max_batch and not stopping:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                else:
                    held.append(more)
            if self._before_each is not None:
                self._before_each()
            batch = list(held)
            budget = self._budget() if self._budget is not None else None
            try:
                outcomes = self._apply_batch(batch, budget)
            except Exception as exc:  # the database is down: fail the first, retry the rest
                log.exception("applying journal entry %s failed", batch[0].entry_id)
                self._settle(held.popleft(), None, exc)
                continue
            for outcome in outcomes:
                self._settle(held.popleft(), outcome, None)
            if self._after_each is not None:
                try:
                    self._after_each()
                except Exception:
                    log.exception("applier after-batch step failed")

    def _settle(self, job: Job, outcome: Any, exc: BaseException | None) -> None:
        with self._lock:
            future = self._pending.pop(job.entry_id)
        if exc is not None:
            future.set_exception(exc)
        else:
            self.applied += 1
            future.set_result(outcome)
