"""A message in over MLLP produces a board event out, through the real Socket.IO client."""

from __future__ import annotations

import pytest

from integration.mllp.client import MllpClient
from tests.board_socket import BoardSocket
from tests.hl7_builder import ack_code, adt


@pytest.fixture
def board(live_server, staff_token):
    with BoardSocket(live_server.url, {"signon": staff_token}) as board:
        yield board


def test_join_sends_the_snapshot_then_a_message_pushes_the_change(live_server, board):
    first = board.join("AMU")
    assert first["ward"] == "AMU" and first["snapshot"]["patients"] == []

    with MllpClient("127.0.0.1", live_server.mllp.port) as mllp:
        assert ack_code(mllp.send(adt("A01", family="PUSHED", location="AMU^A^A2"))) == "AA"

    pushed = board.next()
    assert pushed["version"] > first["version"]
    [patient] = pushed["snapshot"]["patients"]
    assert patient["display_name"].startswith("PUSHED")
    assert patient["bed"] == "A2"
    beds = {b["code"]: b["status"] for bay in pushed["snapshot"]["bays"] for b in bay["beds"]}
    assert beds["A2"] == "O"


def test_a_transfer_updates_both_wards_boards(live_server, staff_token):
    auth = {"signon": staff_token}
    with (
        BoardSocket(live_server.url, auth, "AMU") as amu,
        BoardSocket(live_server.url, auth, "W4") as w4,
    ):
        with MllpClient("127.0.0.1", live_server.mllp.port) as mllp:
            mllp.send(adt("A01", location="AMU^A^A1"))
            assert len(amu.next()["snapshot"]["patients"]) == 1
            mllp.send(adt("A02", location="W4^A^A1"))
        amu_now, w4_now = amu.next(), w4.next()
        assert amu_now["snapshot"]["patients"] == []
        assert [p["bed"] for p in w4_now["snapshot"]["patients"]] == ["A1"]
        assert w4.received.empty()  # the A01 on AMU did not disturb W4


def test_unknown_ward_is_refused(board):
    board.client.emit("join", {"ward": "NOPE"}, namespace="/board")
    kind, data = board.received.get(timeout=10)
    assert kind == "error" and "NOPE" in data["message"]


def test_reconnect_resyncs_with_a_fresh_snapshot(live_server, staff_token):
    board = BoardSocket(live_server.url, {"signon": staff_token}, "AMU")
    board.close()
    with MllpClient("127.0.0.1", live_server.mllp.port) as mllp:
        mllp.send(adt("A01", family="WHILEAWAY"))  # missed while disconnected
    board.connect()
    snap = board.join("AMU")["snapshot"]
    board.close()
    assert [p["display_name"].split(",")[0] for p in snap["patients"]] == ["WHILEAWAY"]
