"""A ward board over the real python-socketio client, as a screen sees it.

Every board the screen would show lands in ``received`` as ("board", {ward, version,
snapshot}), whether the server sent it whole or as a patch; a ``board_error`` lands as
("error", payload).
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any

import socketio

from whiteboard.board.patch import follow_board

NAMESPACE = "/board"
# python-socketio waits 1 s for the namespace by default: a loaded CI machine can take longer
# to run the connect handler (authorisation reads the database), which is not a failure.
CONNECT_WAIT = 15.0


class BoardSocket:
    def __init__(self, url: str, auth: dict[str, str], ward: str | None = None) -> None:
        self.url, self.auth = url, auth
        self.received: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.client = socketio.Client(reconnection=False)
        # ``follower.resyncs``: patches that did not apply, so the board asked for it whole.
        self.follower = follow_board(self.client, lambda data: self.received.put(("board", data)))
        self.client.on(
            "board_error", lambda data: self.received.put(("error", data)), namespace=NAMESPACE
        )
        self.connect()
        self.snapshot: dict[str, Any] | None = None
        if ward is not None:
            self.join(ward)

    def connect(self) -> None:
        self.client.connect(
            self.url,
            namespaces=[NAMESPACE],
            transports=["websocket"],
            auth=self.auth,
            wait_timeout=CONNECT_WAIT,
        )

    def join(self, ward: str, timeout: float = 20.0) -> dict[str, Any]:
        """Join the ward's room; the whole board it sends first."""
        self.client.emit("join", {"ward": ward}, namespace=NAMESPACE)
        return self.next(timeout)

    def next(self, timeout: float = 10.0) -> dict[str, Any]:
        kind, data = self.received.get(timeout=timeout)
        assert kind == "board", data
        self.snapshot = data["snapshot"]
        return data

    def latest(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next board, then any that came after it: what the screen shows once settled."""
        data = self.next(timeout)
        while not self.received.empty():
            data = self.next(timeout)
        return data

    def wait_for(
        self, shows: Callable[[dict[str, Any]], bool], timeout: float = 20.0
    ) -> dict[str, Any]:
        """The first board whose snapshot ``shows`` what the test waits for."""
        deadline = time.monotonic() + timeout
        while True:
            snapshot = self.next(max(0.1, deadline - time.monotonic()))["snapshot"]
            if shows(snapshot):
                return snapshot

    def close(self) -> None:
        self.client.disconnect()

    def __enter__(self) -> BoardSocket:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
