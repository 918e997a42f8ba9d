"""A message in over MLLP produces a board event out, through the real Socket.IO client."""

from __future__ import annotations

import queue

import pytest
import socketio

from integration.mllp.client import MllpClient
from tests.hl7_builder import ack_code, adt
from whiteboard.board.patch import follow_board


@pytest.fixture
def board_client(live_server, staff_token):
    received: queue.Queue = queue.Queue()
    client = socketio.Client(reconnection=False)
    follow_board(client, lambda data: received.put(("board", data)))
    client.on("board_error", lambda data: received.put(("error", data)), namespace="/board")
    client.connect(
        live_server.url,
        namespaces=["/board"],
        transports=["websocket"],
        auth={"signon": staff_token},
    )
    yield client, received
    client.disconnect()


def next_board(received: queue.Queue, timeout: float = 10.0) -> dict:
    kind, data = received.get(timeout=timeout)
    assert kind == "board", data
    return data


def test_join_sends_the_snapshot_then_a_message_pushes_the_change(live_server, board_client):
    client, received = board_client
    client.emit("join", {"ward": "AMU"}, namespace="/board")
    first = next_board(received)
    assert first["ward"] == "AMU" and first["snapshot"]["patients"] == []

    with MllpClient("127.0.0.1", live_server.mllp.port) as mllp:
        assert ack_code(mllp.send(adt("A01", family="PUSHED", location="AMU^A^A2"))) == "AA"

    pushed = next_board(received)
    assert pushed["version"] > first["version"]
    [patient] = pushed["snapshot"]["patients"]
    assert patient["display_name"].startswith("PUSHED")
    assert patient["bed"] == "A2"
    beds = {b["code"]: b["status"] for bay in pushed["snapshot"]["bays"] for b in bay["beds"]}
    assert beds["A2"] == "O"


def test_a_transfer_updates_both_wards_boards(live_server, staff_token):
    boards = {}
    clients = []
    for ward in ("AMU", "W4"):
        q: queue.Queue = queue.Queue()
        c = socketio.Client(reconnection=False)
        follow_board(c, lambda data, q=q: q.put(("board", data)))
        c.connect(
            live_server.url,
            namespaces=["/board"],
            transports=["websocket"],
            auth={"signon": staff_token},
        )
        c.emit("join", {"ward": ward}, namespace="/board")
        next_board(q)
        boards[ward], clients = q, [*clients, c]
    try:
        with MllpClient("127.0.0.1", live_server.mllp.port) as mllp:
            mllp.send(adt("A01", location="AMU^A^A1"))
            assert len(next_board(boards["AMU"])["snapshot"]["patients"]) == 1
            mllp.send(adt("A02", location="W4^A^A1"))
        amu, w4 = next_board(boards["AMU"]), next_board(boards["W4"])
        assert amu["snapshot"]["patients"] == []
        assert [p["bed"] for p in w4["snapshot"]["patients"]] == ["A1"]
        assert boards["W4"].empty()  # the A01 on AMU did not disturb W4
    finally:
        for c in clients:
            c.disconnect()


def test_unknown_ward_is_refused(board_client):
    client, received = board_client
    client.emit("join", {"ward": "NOPE"}, namespace="/board")
    kind, data = received.get(timeout=10)
    assert kind == "error" and "NOPE" in data["message"]


def test_reconnect_resyncs_with_a_fresh_snapshot(live_server, staff_token):
    q: queue.Queue = queue.Queue()
    c = socketio.Client(reconnection=False)
    follow_board(c, lambda data: q.put(("board", data)))
    c.connect(
        live_server.url,
        namespaces=["/board"],
        transports=["websocket"],
        auth={"signon": staff_token},
    )
    c.emit("join", {"ward": "AMU"}, namespace="/board")
    next_board(q)
    c.disconnect()
    with MllpClient("127.0.0.1", live_server.mllp.port) as mllp:
        mllp.send(adt("A01", family="WHILEAWAY"))  # missed while disconnected
    c.connect(
        live_server.url,
        namespaces=["/board"],
        transports=["websocket"],
        auth={"signon": staff_token},
    )
    c.emit("join", {"ward": "AMU"}, namespace="/board")
    snap = next_board(q)["snapshot"]
    c.disconnect()
    assert [p["display_name"].split(",")[0] for p in snap["patients"]] == ["WHILEAWAY"]
