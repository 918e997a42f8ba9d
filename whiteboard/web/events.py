"""Socket.IO handlers: /board (one room per ward and audience) and /session (screen blanking).

A client joins a ward and is sent the whole snapshot at once, so a board that reconnects
after a network blip is right again without reloading the page. Every connect and event is
checked by ``access.authorize_socket`` (the policy in whiteboard/auth/policy.py). Signed-on
staff join ``ward:<code>`` (full view); kiosks join ``kiosk:<code>`` (privacy mode), so the
two views never share a room. Every staff socket also joins ``signon:<id>`` so that ending
the sign-on blanks all of its screens at once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import current_app, request, session
from flask_socketio import SocketIO, emit, join_room, leave_room, rooms

from config.services import services
from whiteboard.web.access import authorize_socket, resolve_principal
from whiteboard.web.socket import (
    NAMESPACE,
    SESSION_NAMESPACE,
    kiosk_room_for,
    room_for,
    signon_room,
)

log = logging.getLogger(__name__)


class OpenSockets:
    """sid -> (namespace, credentials) of every open socket of one app, so that a revoked
    kiosk token or a disabled account also loses the sockets it already has.

    Kept per app (in ``app.extensions``), not per module: a socket whose disconnect never
    reached an app that has stopped must not be counted, or dropped, by the next one.
    """

    KEY = "wardboard_open_sockets"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_sid: dict[str, tuple[str, dict[str, Any]]] = {}

    @classmethod
    def of_current_app(cls) -> OpenSockets:
        return current_app.extensions[cls.KEY]

    def add(self, sid: str, namespace: str, creds: dict[str, Any]) -> None:
        with self._lock:
            self._by_sid[sid] = (namespace, creds)

    def remove(self, sid: str) -> None:
        with self._lock:
            self._by_sid.pop(sid, None)

    def snapshot(self) -> list[tuple[str, tuple[str, dict[str, Any]]]]:
        with self._lock:
            return list(self._by_sid.items())


def _remember(namespace: str) -> None:
    creds = {k: session[k] for k in ("signon", "kiosk") if isinstance(session.get(k), str)}
    OpenSockets.of_current_app().add(request.sid, namespace, creds)  # type: ignore[attr-defined]


def on_disconnect(*_args: Any) -> None:
    OpenSockets.of_current_app().remove(request.sid)  # type: ignore[attr-defined]


def recheck_sockets(socketio: SocketIO) -> int:
    """Drop every open socket whose credential no longer holds (revoked kiosk, disabled
    account, ended session); returns how many were dropped. Needs an app context."""
    sockets = OpenSockets.of_current_app()
    dropped = 0
    for sid, (namespace, creds) in sockets.snapshot():
        if resolve_principal(creds) is not None:
            continue
        socketio.emit("session_ended", {"reason": "revoked"}, to=sid, namespace=namespace)
        socketio.server.disconnect(sid, namespace=namespace)
        sockets.remove(sid)
        dropped += 1
    return dropped


def _adopt_auth(auth: Any) -> None:
    """Non-browser clients (and tests) may pass {kiosk: token} or {signon: token} as auth."""
    if isinstance(auth, dict):
        for key in ("signon", "kiosk"):
            if isinstance(auth.get(key), str):
                session.clear()
                session[key] = auth[key]
                return


def on_connect(auth: Any = None) -> bool:
    _adopt_auth(auth)
    principal = authorize_socket(NAMESPACE, "connect")
    if principal.signon_id is not None:
        join_room(signon_room(principal.signon_id))
    _remember(NAMESPACE)
    return True


def on_join(data: Any) -> None:
    code = data.get("ward") if isinstance(data, dict) else None
    if not isinstance(code, str) or not code:
        emit("board_error", {"message": "join needs {ward: <code>}"})
        return
    try:
        principal = authorize_socket(NAMESPACE, "join", data)
    except PermissionError as exc:
        emit("board_error", {"message": str(exc)})
        return
    payload = services().publisher.payload(code, kiosk=principal.is_kiosk)
    if payload is None:
        emit("board_error", {"message": f"no ward {code!r}"})
        return
    try:
        for room in rooms(sid=request.sid, namespace=NAMESPACE):  # type: ignore[attr-defined]
            if room.startswith(("ward:", "kiosk:")):
                leave_room(room)
        join_room(kiosk_room_for(code) if principal.is_kiosk else room_for(code))
    except ValueError:
        return  # the socket went away while we built the snapshot
    emit("board", payload)


def on_session_connect(auth: Any = None) -> bool:
    _adopt_auth(auth)
    principal = authorize_socket(SESSION_NAMESPACE, "connect")
    if principal.signon_id is not None:
        join_room(signon_room(principal.signon_id))
    _remember(SESSION_NAMESPACE)
    return True


def register_socket_handlers(app: Any, socketio: SocketIO) -> None:
    """Called after ``init_app``: each app gets a fresh Socket.IO server to register on."""
    app.extensions[OpenSockets.KEY] = OpenSockets()
    socketio.on_event("connect", on_connect, namespace=NAMESPACE)
    socketio.on_event("join", on_join, namespace=NAMESPACE)
    socketio.on_event("connect", on_session_connect, namespace=SESSION_NAMESPACE)
    socketio.on_event("disconnect", on_disconnect, namespace=NAMESPACE)
    socketio.on_event("disconnect", on_disconnect, namespace=SESSION_NAMESPACE)


def start_socket_recheck(app: Any, socketio: SocketIO, every_seconds: float) -> None:
    """Every ``every_seconds``, drop sockets whose kiosk token or session no longer holds."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_seconds):
            try:
                with app.app_context():
                    recheck_sockets(socketio)
            except Exception:
                log.exception("socket recheck failed")

    threading.Thread(target=loop, name="socket-recheck", daemon=True).start()
    app.extensions["wardboard"].stoppers.append(stop.set)
