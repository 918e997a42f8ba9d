"""Privacy mode: a kiosk gets surname + initial (or initials, or an alias), staff the full view;
the two views travel in different Socket.IO rooms and never mix."""

from __future__ import annotations

from sqlalchemy import select

from integration.mllp.client import MllpClient
from mpi.models import Patient
from tests.board_socket import BoardSocket
from tests.hl7_builder import ack_code, adt
from whiteboard.auth.models import PatientPrivacy
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


def test_pushes_to_kiosks_and_staff_never_mix(live_server, make_kiosk, staff_token):
    kiosk = BoardSocket(live_server.url, {"kiosk": make_kiosk("AMU")}, "AMU")
    staff = BoardSocket(live_server.url, {"signon": staff_token}, "AMU")
    try:
        with MllpClient("127.0.0.1", live_server.mllp.port) as mllp:
            ack = mllp.send(adt("A01", family="O'BRIEN", given="Siobhan", location="AMU^A^A2"))
            assert ack_code(ack) == "AA"
        k, s = kiosk.next(), staff.next()
        assert [p["display_name"] for p in k["snapshot"]["patients"]] == ["O'BRIEN, S"]
        assert k["snapshot"]["privacy"] == "kiosk"
        assert [p["display_name"] for p in s["snapshot"]["patients"]] == ["O'BRIEN, Siobhan"]
        assert "privacy" not in s["snapshot"]
        # one push each: the kiosk never got the full view
        assert kiosk.received.empty() and staff.received.empty()
    finally:
        kiosk.close()
        staff.close()


def test_kiosk_socket_cannot_join_another_ward(live_server, make_kiosk):
    with BoardSocket(live_server.url, {"kiosk": make_kiosk("AMU")}) as kiosk:
        kiosk.client.emit("join", {"ward": "W4"}, namespace="/board")
        kind, data = kiosk.received.get(timeout=10)
        assert kind == "error" and "own ward" in data["message"]
