"""Privacy mode: a kiosk gets surname + initial (or initials, or an alias), staff the full view;
the two views travel in different Socket.IO rooms and never mix."""

from __future__ import annotations

import queue

import socketio
from sqlalchemy import select

from integration.mllp.client import MllpClient
from mpi.models import Patient
from tests.hl7_builder import ack_code, adt
from whiteboard.auth.models import PatientPrivacy
from whiteboard.board.patch import follow_board
from whiteboard.board.privacy import CONFIDENTIAL_NAME


def _set_privacy(services, family: str, **values) -> None:  # type: ignore[no-untyped-def]
    with services.uow_factory() as uow:
        pid = uow.session.scalars(select(Patient.id).where(Patient.family_name == family)).one()
        uow.session.add(PatientPrivacy(patient_id=pid, **values))
        uow.commit()


def test_kiosk_snapshot_is_privacy_mode_and_staff_is_full(services, kiosk_client, staff_client):
    services.pipeline.receive(
        adt("A01", family="PLAIN", given="Mary", location="AMU^A^A1", control_id="C1")
    )
    services.pipeline.receive(
        adt(
            "A01",
            family="SECRET",
            given="Sam",
            location="AMU^A^A2",
            control_id="C2",
            hospital_number="RM3000002",
            nhs_number=None,
            visit="V2",
        )
    )
    services.pipeline.receive(
        adt(
            "A01",
            family="SHORT",
            given="Tom",
            location="AMU^A^A3",
            control_id="C3",
            hospital_number="RM3000003",
            nhs_number=None,
            visit="V3",
        )
    )
    _set_privacy(services, "SECRET", confidential=True, initials_only=False, alias="Mr Blue")
    _set_privacy(services, "SHORT", confidential=False, initials_only=True)
    kiosk = kiosk_client.get("/api/v1/wards/AMU/board").get_json()
    names = sorted(p["display_name"] for p in kiosk["patients"])
    assert names == ["Mr Blue", "PLAIN, M", "TS"]
    assert all(p["nhs_number"] is None and p["hospital_number"] is None for p in kiosk["patients"])
    assert "SECRET" not in str(kiosk) and "Sam" not in str(kiosk)
    staff = staff_client.get("/api/v1/wards/AMU/board").get_json()
    assert sorted(p["display_name"] for p in staff["patients"]) == [
        "PLAIN, Mary",
        "SECRET, Sam",
        "SHORT, Tom",
    ]


def test_confidential_without_alias_shows_a_neutral_name(services, kiosk_client):
    services.pipeline.receive(adt("A01", family="HIDDEN", location="AMU^A^A1"))
    _set_privacy(services, "HIDDEN", confidential=True, initials_only=False)
    [p] = kiosk_client.get("/api/v1/wards/AMU/board").get_json()["patients"]
    assert p["display_name"] == CONFIDENTIAL_NAME


def _client(live_server, auth):  # type: ignore[no-untyped-def]
    q: queue.Queue = queue.Queue()
    c = socketio.Client(reconnection=False)
    follow_board(c, lambda data: q.put(("board", data)))
    c.on("board_error", lambda data: q.put(("error", data)), namespace="/board")
    c.connect(live_server.url, namespaces=["/board"], transports=["websocket"], auth=auth)
    return c, q


def test_pushes_to_kiosks_and_staff_never_mix(live_server, make_kiosk, staff_token):
    kiosk, kq = _client(live_server, {"kiosk": make_kiosk("AMU")})
    staff, sq = _client(live_server, {"signon": staff_token})
    try:
        for c in (kiosk, staff):
            c.emit("join", {"ward": "AMU"}, namespace="/board")
        assert kq.get(timeout=10)[0] == "board" and sq.get(timeout=10)[0] == "board"
        with MllpClient("127.0.0.1", live_server.mllp.port) as mllp:
            ack = mllp.send(adt("A01", family="O'BRIEN", given="Siobhan", location="AMU^A^A2"))
            assert ack_code(ack) == "AA"
        _, k = kq.get(timeout=10)
        _, s = sq.get(timeout=10)
        assert [p["display_name"] for p in k["snapshot"]["patients"]] == ["O'BRIEN, S"]
        assert k["snapshot"]["privacy"] == "kiosk"
        assert [p["display_name"] for p in s["snapshot"]["patients"]] == ["O'BRIEN, Siobhan"]
        assert "privacy" not in s["snapshot"]
        assert kq.empty() and sq.empty()  # one push each: the kiosk never got the full view
    finally:
        kiosk.disconnect()
        staff.disconnect()


def test_kiosk_socket_cannot_join_another_ward(live_server, make_kiosk):
    kiosk, kq = _client(live_server, {"kiosk": make_kiosk("AMU")})
    try:
        kiosk.emit("join", {"ward": "W4"}, namespace="/board")
        kind, data = kq.get(timeout=10)
        assert kind == "error" and "own ward" in data["message"]
    finally:
        kiosk.disconnect()
