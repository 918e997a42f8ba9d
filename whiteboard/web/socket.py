"""The Socket.IO extension object, created without an app and bound in the factory."""

from __future__ import annotations

from typing import Any

from flask_socketio import SocketIO

NAMESPACE = "/board"

socketio = SocketIO()


SESSION_NAMESPACE = "/session"


def room_for(ward_code: str) -> str:
    """Signed-in staff watching a ward: the full view."""
    return f"ward:{ward_code}"


def kiosk_room_for(ward_code: str) -> str:
    """Wall-board kiosks of a ward: the privacy-mode view only, never the full one."""
    return f"kiosk:{ward_code}"


def signon_room(signon_id: int) -> str:
    """Every socket of one sign-on, in every namespace: ended together when the card comes out."""
    return f"signon:{signon_id}"


def emit_board(ward_code: str, event: str, payload: dict) -> None:
    socketio.emit(event, payload, to=room_for(ward_code), namespace=NAMESPACE)


def emit_kiosk_board(ward_code: str, event: str, payload: dict) -> None:
    socketio.emit(event, payload, to=kiosk_room_for(ward_code), namespace=NAMESPACE)


class QueueEmitter:
    """Board pushes published on the Redis channel only, for a web process in a shared chain.

    ``socketio.emit`` in a web process hands an event to its own boards at once and then
    publishes it for the others, while pushes from other processes reach its boards later,
    through its Redis listener. A patch made here right after another process's push could
    then overtake that push on this process's boards and not apply. Published only, every
    push reaches every web process through Redis, in the order the chain made them (the
    listener delivers those from a foreign host id, as it does those of ``run.py mllp``).
    """

    def __init__(self, redis_url: str, channel: str) -> None:
        import socketio as sio

        self._manager: Any = sio.RedisManager(redis_url, channel=channel, write_only=True)

    def board(self, ward_code: str, event: str, payload: dict) -> None:
        self._manager.emit(event, payload, namespace=NAMESPACE, room=room_for(ward_code))

    def kiosk_board(self, ward_code: str, event: str, payload: dict) -> None:
        self._manager.emit(event, payload, namespace=NAMESPACE, room=kiosk_room_for(ward_code))


def end_session_screens(signon_ids: list[int], reason: str) -> None:
    """Tell every screen of these sign-ons to blank, then drop their sockets."""
    for signon_id in signon_ids:
        room = signon_room(signon_id)
        for namespace in (SESSION_NAMESPACE, NAMESPACE):
            socketio.emit("session_ended", {"reason": reason}, to=room, namespace=namespace)
            try:
                participants = list(socketio.server.manager.get_participants(namespace, room))
            except (KeyError, AttributeError):
                participants = []
            for sid, _eio_sid in participants:
                socketio.server.disconnect(sid, namespace=namespace)
