"""Board pushes as patches: only what changed since the last push reaches each screen.

A 30-bed ward's snapshot is 24-48 KB of JSON, and every push went to every board of the
ward; at 50 ADT messages a second that fan-out, not building the snapshot, was what made
boards late. A change to one patient changes one entry of ``patients`` and one bay, so a
push now carries those entries, the changed top-level values and the new order of each list.

Every snapshot carries a ``digest`` of its content. A patch names the digest it applies to
(``base``); a screen whose snapshot has another digest (it missed a push, or it joined from a
snapshot the publisher never sent) asks for the whole board again instead of guessing. So a
patch can never leave a board wrong, only cost it a resync. board.js applies patches the same
way as ``apply_patch`` here (the contract is in docs/BOARD_UI.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

# Lists of dicts sent entry by entry, with the field that identifies an entry.
KEYED_LISTS = {"patients": "key", "bays": "code"}

# Not part of the content: a snapshot rebuilt a second later with nothing changed is the same.
_VOLATILE = ("digest", "generated_at")


def digest(snapshot: dict[str, Any]) -> str:
    """A short fingerprint of the content, the same in every process that builds it."""
    content = {k: v for k, v in snapshot.items() if k not in _VOLATILE}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def sealed(snapshot: dict[str, Any]) -> dict[str, Any]:
    """``snapshot`` with its digest set (in place, and returned for chaining)."""
    snapshot["digest"] = digest(snapshot)
    return snapshot


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The patch that turns ``old`` into ``new``: {set, drop, lists}, each only if needed."""
    changed: dict[str, Any] = {}
    lists: dict[str, Any] = {}
    for name, value in new.items():
        key = KEYED_LISTS.get(name)
        before = old.get(name)
        if key is not None and _keyed(before, key) and _keyed(value, key):
            entries = _diff_list(before, value, key)
            if entries:
                lists[name] = entries
        elif name not in old or before != value:
            changed[name] = value
    patch: dict[str, Any] = {}
    if changed:
        patch["set"] = changed
    dropped = [name for name in old if name not in new]
    if dropped:
        patch["drop"] = dropped
    if lists:
        patch["lists"] = lists
    return patch


def apply_patch(snapshot: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A new snapshot: ``snapshot`` (left as it was) with ``patch`` applied."""
    out = dict(snapshot)
    out.update(patch.get("set", {}))
    for name in patch.get("drop", ()):
        out.pop(name, None)
    for name, entries in patch.get("lists", {}).items():
        key = entries["key"]
        current = {item[key]: item for item in out.get(name, [])}
        current.update({item[key]: item for item in entries.get("upsert", ())})
        order = entries.get("order")
        keys = order if order is not None else [item[key] for item in out.get(name, [])]
        out[name] = [current[k] for k in keys]
    return out


def _keyed(value: Any, key: str) -> bool:
    """A list whose entries each have a distinct ``key`` (otherwise it is sent whole)."""
    if not isinstance(value, list) or not all(isinstance(i, dict) and key in i for i in value):
        return False
    return len({i[key] for i in value}) == len(value)


def _diff_list(old: list[dict[str, Any]], new: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """Changed or new entries, and the order of keys when entries came, went or moved."""
    before = {item[key]: item for item in old}
    upsert = [item for item in new if before.get(item[key]) != item]
    order = [item[key] for item in new]
    out: dict[str, Any] = {}
    if upsert:
        out["upsert"] = upsert
    if order != [item[key] for item in old]:
        out["order"] = order
    if out:
        out["key"] = key
    return out


class BoardFollower:
    """One screen's copy of a ward board, kept from ``board`` and ``board_patch`` events.

    What board.js does, for Python clients (benchmarks, tests). ``on_patch`` returns None
    when the patch does not apply to what this screen has: the caller asks for the whole
    board again (emits ``join``) and carries on when it arrives.
    """

    def __init__(self) -> None:
        self.snapshot: dict[str, Any] | None = None
        self.resyncs = 0
        self._waiting = False

    def on_board(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.snapshot = payload["snapshot"]
        self._waiting = False
        return self.snapshot

    def on_patch(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        if self.snapshot is None or self.snapshot.get("digest") != payload.get("base"):
            return None
        self.snapshot = apply_patch(self.snapshot, payload["patch"])
        return self.snapshot

    def resync_due(self) -> bool:
        """True once per gap: ask for the whole board now, not again until it has come."""
        if self._waiting:
            return False
        self._waiting = True
        self.resyncs += 1
        return True


def follow_board(
    client: Any, on_snapshot: Callable[[dict[str, Any]], None], namespace: str = "/board"
) -> BoardFollower:
    """Register ``board`` and ``board_patch`` handlers on a python-socketio client.

    ``on_snapshot`` gets every board the screen would show, as a whole-board payload
    {ward, version, snapshot}, whether it came whole or as a patch; a patch that does not
    apply makes the client join the ward again, as board.js does.

    The client is made to handle its events in the order they arrived, one at a time, on its
    reader thread, as a browser's board.js does. python-engineio's client starts a thread
    for every message, so two pushes arriving together could be handled in either order; a
    patch then met a board without its base and asked for the whole board again (393 such
    resyncs in one 500-board benchmark run, each a snapshot the web process had to build
    just when it was behind; docs/BENCHMARKS.md, 2026-12-01 evening). The handlers only
    apply a patch, so the reader is not held up.
    """
    _handle_in_order(client)
    follower = BoardFollower()

    def on_board(payload: dict[str, Any]) -> None:
        follower.on_board(payload)
        on_snapshot(payload)

    def on_patch(payload: dict[str, Any]) -> None:
        snapshot = follower.on_patch(payload)
        if snapshot is not None:
            on_snapshot(
                {"ward": payload["ward"], "version": payload["version"], "snapshot": snapshot}
            )
        elif follower.resync_due():
            client.emit("join", {"ward": payload["ward"]}, namespace=namespace)

    client.on("board", on_board, namespace=namespace)
    client.on("board_patch", on_patch, namespace=namespace)
    return follower


def _handle_in_order(client: Any) -> None:
    """Run the engine.io client's message events on its reader thread (``run_async=False``);
    python-engineio has no public switch for this."""
    eio = client.eio
    trigger = eio._trigger_event

    def trigger_in_order(event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "message":
            kwargs["run_async"] = False
        return trigger(event, *args, **kwargs)

    eio._trigger_event = trigger_in_order
