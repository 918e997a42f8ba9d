"""The Socket.IO extension object, created without an app and bound in the factory."""

from __future__ import annotations

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
