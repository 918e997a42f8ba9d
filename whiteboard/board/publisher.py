"""Pushes each changed ward's board to its room, off the HL7 acknowledgement path.

Events only put ward codes on a queue; one worker thread builds the snapshots and emits them.
Changes that arrive while a snapshot is being built are coalesced, so a burst of ten messages
for one ward costs one or two snapshots, not ten. Each push is a patch against the last one
sent for that ward and audience (whiteboard/board/patch.py); the first is whole. "Sent" means
by any process of the site: with Redis the chain of last pushes is shared and a ward's pushes
are serialised across processes (whiteboard/board/chain.py); without it, this process's own.
When the shared chain cannot be used (Redis down), pushes go out whole, which any board shows.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from config.clinical import ClinicalRules
from config.db import utcnow
from whiteboard.board.alerts_snapshot import alert_signature
from whiteboard.board.chain import ChainUnavailable, LocalChain, PushChain, WardBusy
from whiteboard.board.patch import diff, sealed
from whiteboard.board.privacy import redact_for_kiosk
from whiteboard.board.snapshot import build_snapshot

log = logging.getLogger(__name__)

# (ward code, event name, payload): "board" with a whole snapshot, or "board_patch".
Emit = Callable[[str, str, dict[str, Any]], None]


@dataclass(frozen=True)
class Emitters:
    """Where a push goes: the staff view's room and the kiosk view's (None: no kiosks)."""

    full: Emit
    kiosk: Emit | None = None

    def for_audience(self, audience: str) -> Emit | None:
        return self.full if audience == "full" else self.kiosk


class BoardPublisher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        emit: Emit,
        tz_name: str,
        rules: ClinicalRules | None = None,
        clock: Callable[[], datetime] = utcnow,
        emit_kiosk: Emit | None = None,
        *,
        chain: PushChain | None = None,
        chained: Emitters | None = None,
    ) -> None:
        """``emit``/``emit_kiosk`` deliver whole boards when the chain is unavailable, and
        everything when ``chained`` is not given. ``chained`` is for a shared chain: pushes
        must reach every web process in the order the chain made them, so a web process
        publishes them on the message queue only, rather than to its own boards first
        (whiteboard/web/socket.py)."""
        self._sessions = sessions
        self._emit_kiosk = emit_kiosk
        self._whole = Emitters(emit, emit_kiosk)
        self._chained = chained or self._whole
        self._chain: PushChain = chain or LocalChain()
        self.chain_shared = bool(getattr(self._chain, "shared", False))
        self._tz_name = tz_name
        self._rules = rules
        self._clock = clock
        # Alert state last pushed per ward, with the ward version it was built at: the periodic
        # re-push sends only wards whose time-based alerts changed level since. The push worker
        # and the re-push both record, so a snapshot built from an older version (a slow push
        # overtaken by the re-push) must not overwrite a newer one.
        self._signatures: dict[str, tuple[int, tuple[tuple[str, str, str, str], ...]]] = {}
        self._signatures_lock = threading.Lock()
        # Whether the last push could use the chain; pushes sent whole while it could not.
        self.chain_ok = True
        self.whole_pushes = 0
        # After a failure the chain is left alone this long (a Redis that does not answer
        # would otherwise cost every push its timeouts), and the wards pushed whole meanwhile
        # are pushed whole again the first time the chain takes them: what the chain holds for
        # them is older than what their boards show.
        self.chain_retry_seconds = 5.0
        self._chain_retry_at = 0.0
        self._unchained: set[str] = set()
        self.superseded = 0  # pushes not sent: a later one for the ward had already gone out
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.pushes = 0
        self.failures = 0
        self.last_push_seconds = 0.0
        # Called with each push's duration (snapshot build + emit), e.g. a metrics histogram.
        self.observe_push_seconds: Callable[[float], None] | None = None

    @property
    def chain(self) -> PushChain:
        """The last pushes this publisher patches against (shared in Redis, or its own)."""
        return self._chain

    def snapshot(self, ward_code: str) -> dict[str, Any] | None:
        with self._sessions() as session:
            snap = build_snapshot(session, ward_code, self._clock(), self._tz_name, self._rules)
        return None if snap is None else sealed(snap)

    def kiosk_snapshot(self, ward_code: str) -> dict[str, Any] | None:
        """The privacy-mode view a ward kiosk may see (whiteboard/board/privacy.py)."""
        with self._sessions() as session:
            snap = build_snapshot(session, ward_code, self._clock(), self._tz_name, self._rules)
            return None if snap is None else sealed(redact_for_kiosk(session, snap))

    def payload(self, ward_code: str, *, kiosk: bool = False) -> dict[str, Any] | None:
        snap = self.kiosk_snapshot(ward_code) if kiosk else self.snapshot(ward_code)
        if snap is None:
            return None
        return {"ward": ward_code, "version": snap["version"], "snapshot": snap}

    def repush_changed_alerts(self) -> list[str]:
        """Queue a push for every ward whose alerts differ from the last ones pushed.

        Time-based alerts (an A&E wait turning red, an EDD review falling due) change with no
        message arriving; the scheduler calls this every minute so boards follow the clock.
        """
        from sqlalchemy import select

        from whiteboard.models import Ward

        with self._sessions() as session:
            codes = list(session.scalars(select(Ward.code).order_by(Ward.position)))
        changed = []
        for code in codes:
            snap = self.snapshot(code)
            if snap is None:
                continue
            if self._record_signature(code, snap):
                changed.append(code)
                self._queue.put(code)
        return changed

    def _record_signature(self, code: str, snap: dict[str, Any]) -> bool:
        """Remember the alert state a snapshot shows; True if it differs from the last one."""
        version, signature = snap["version"], alert_signature(snap)
        with self._signatures_lock:
            known = self._signatures.get(code)
            if known is not None and known[0] > version:
                return False
            self._signatures[code] = (version, signature)
            return known is None or known[1] != signature

    def on_event(self, event: Any) -> None:
        for code in getattr(event, "wards", ()):
            self._queue.put(code)

    def start(self) -> BoardPublisher:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="board-push", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            wards = {first}
            stop = False
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                wards.add(more)
            for code in sorted(wards):
                self._push(code)
            if stop:
                return

    def _push(self, code: str) -> None:
        started = time.perf_counter()
        try:
            with self._sessions() as session:
                snap = build_snapshot(session, code, self._clock(), self._tz_name, self._rules)
                kiosk = (
                    sealed(redact_for_kiosk(session, snap))
                    if snap is not None and self._emit_kiosk is not None
                    else None
                )
            if snap is not None:
                self._record_signature(code, snap)
                views = {"full": sealed(snap)}
                if kiosk is not None:
                    views["kiosk"] = kiosk
                self._send(code, views)
                self.pushes += 1
        except Exception:
            self.failures += 1
            log.exception("board push for ward %s failed", code)
        self.last_push_seconds = time.perf_counter() - started
        if self.observe_push_seconds is not None:
            self.observe_push_seconds(self.last_push_seconds)

    def _send(self, code: str, views: dict[str, dict[str, Any]]) -> None:
        """Emit ``views`` as patches against the ward's last push, holding the ward's lock.

        The snapshot is built before the lock is taken (it is most of a push's time, and two
        processes may build one ward at once); under the lock a push older than the last one
        sent is dropped, since that one already shows its change.
        """
        if time.monotonic() < self._chain_retry_at:
            self._send_whole(code, views)
            return
        try:
            with self._chain.hold(code):
                last = self._chain.last(code, tuple(views))
                if last.newer_than(views["full"]):
                    self.superseded += 1
                    return
                fresh = code in self._unchained
                for audience, snap in views.items():
                    emit = self._chained.for_audience(audience)
                    if emit is not None:
                        base = None if fresh else last.views.get(audience)
                        emit(code, *self._message(code, snap, base))
                self._chain.remember(code, views)
                self._unchained.discard(code)
            if not self.chain_ok:
                self.chain_ok = True
                log.warning("board pushes: the shared chain is back; pushes are patches again")
        except WardBusy as exc:
            log.warning("board push for ward %s sent whole: %s", code, exc)
            self._send_whole(code, views)
        except ChainUnavailable as exc:
            self._chain_retry_at = time.monotonic() + self.chain_retry_seconds
            if self.chain_ok:
                self.chain_ok = False
                log.warning(
                    "board pushes: cannot use the shared chain (%s); sending whole boards "
                    "until it is back",
                    exc,
                )
            self._send_whole(code, views)

    def _send_whole(self, code: str, views: dict[str, dict[str, Any]]) -> None:
        """Whole boards, which every screen shows whatever it had: for when the chain fails."""
        self.whole_pushes += 1
        self._unchained.add(code)
        for audience, snap in views.items():
            emit = self._whole.for_audience(audience)
            if emit is not None:
                emit(code, *self._message(code, snap, None))

    @staticmethod
    def _message(
        code: str, snap: dict[str, Any], last: dict[str, Any] | None
    ) -> tuple[str, dict[str, Any]]:
        """The event to send: the whole board the first time, then patches against the last."""
        if last is None:
            return "board", {"ward": code, "version": snap["version"], "snapshot": snap}
        return "board_patch", {
            "ward": code,
            "version": snap["version"],
            "base": last["digest"],
            "patch": diff(last, snap),
        }
