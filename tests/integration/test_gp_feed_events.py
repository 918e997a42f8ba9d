"""The nightly GP feed propagates: a changed or linked patient gets an A08 queued for every
``patient_changes`` subscriber (once), and the boards of the wards showing the patient refresh.

Both feed paths (bulk and per-row), on SQLite and PostgreSQL, with a real outbound queue, the
real board publisher and a Socket.IO board client. The feed fills blanks in the hospital's name
(the hospital wins for names it holds: docs/MPI_INDEX.md) and owns address and practice, so the
admitted patient here was registered without a forename.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from config.app import app_services
from integration.hl7.header import read_header
from integration.mllp.client import MllpClient
from integration.outbound.queue import OutboundMessage
from mpi.events import PatientDetailsCorrected
from mpi.feed_events import board_day
from mpi.gp_feed import HEADER, import_file
from mpi.models import Patient, PatientIdentifier
from mpi.resolve import resolve_identity
from tests.board_socket import BoardSocket
from tests.conftest import laid_out_app
from tests.hl7_builder import ack_code, adt
from tests.split_site import ROOT, Board
from whiteboard.auth.audit_model import AuditEntry
from whiteboard.commands import Identifier, PatientDetails
from whiteboard.models import Ward
from whiteboard.models.clinical import OutpatientBooking

PATHS = [pytest.param(True, id="bulk"), pytest.param(False, id="per-row")]
SUBSCRIBERS = ("MIRROR", "PASCOPY")


@pytest.fixture
def app(settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The app with two downstream subscribers to patient changes (nothing is sent here: the
    subject is what is queued)."""
    dest_file = tmp_path / "destinations.toml"
    dest_file.write_text(
        "".join(f'[destinations.{n}]\nhost = "127.0.0.1"\nport = 9\n' for n in SUBSCRIBERS)
        + f"[subscribers]\npatient_changes = {list(SUBSCRIBERS)!r}\n".replace("'", '"')
    )
    app = laid_out_app(settings.replace(hl7_destinations_file=str(dest_file)))
    yield app
    app_services(app).stop()


@pytest.fixture
def announced(services):  # type: ignore[no-untyped-def]
    """Every ``PatientDetailsCorrected`` published on the bus."""
    seen: list[PatientDetailsCorrected] = []
    services.bus.event_handlers.setdefault(PatientDetailsCorrected, []).append(seen.append)
    return seen


def _feed(path: Path, *rows: dict[str, str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=HEADER)
        w.writeheader()
        for row in rows:
            w.writerow({k: row.get(k, "") for k in HEADER})
    return path


def _jones(**fields: str) -> dict[str, str]:
    return {
        "practice_ods_code": "P84001",
        "practice_patient_id": "G1",
        "nhs_number": "999 000 0018",
        "family_name": "Jones",
        "given_names": "John",
        "date_of_birth": "1958-03-12",
        "sex": "M",
        "address_line_1": "9 New Street",
        "address_line_2": "Urmston",
        "postcode": "M41 0AA",
        **fields,
    }


def _import(services, path: Path, bulk: bool):  # type: ignore[no-untyped-def]
    run = import_file(services, path, bulk=bulk)
    assert run.state == "done", run.errors
    return run


def _outbound(services) -> list[tuple[str, str, bytes]]:  # type: ignore[no-untyped-def]
    with services.read_session() as s:
        return [
            (m.destination, m.message_type, m.payload)
            for m in s.scalars(select(OutboundMessage).order_by(OutboundMessage.id))
        ]


def _versions(services) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with services.read_session() as s:
        return {code: version for code, version in s.execute(select(Ward.code, Ward.version))}


def _clear_outbound(services) -> None:  # type: ignore[no-untyped-def]
    with services.uow_factory() as uow:  # what the admission queued is not the subject
        uow.session.execute(delete(OutboundMessage))
        uow.commit()


def _patient_id(services, authority: str, value: str) -> int:  # type: ignore[no-untyped-def]
    with services.read_session() as s:
        return s.scalars(
            select(PatientIdentifier.patient_id)
            .where(PatientIdentifier.authority == authority)
            .where(PatientIdentifier.value == value)
        ).one()


@pytest.fixture
def amu_board(live_server, staff_token):  # type: ignore[no-untyped-def]
    with BoardSocket(live_server.url, {"signon": staff_token}, "AMU") as board:
        yield board


@pytest.mark.parametrize("bulk", PATHS)
def test_feed_change_to_an_admitted_patient_sends_one_a08_and_refreshes_the_board(
    bulk, services, live_server, amu_board, announced, tmp_path
):
    services.pipeline.receive(
        adt("A01", hospital_number="RM1", family="JONES", given="", location="AMU^A^A1"), "t"
    )
    _clear_outbound(services)
    shown = amu_board.wait_for(lambda snap: snap["patients"] != [], timeout=30)
    assert [p["display_name"] for p in shown["patients"]] == ["JONES"]
    patient_id = _patient_id(services, "WGH", "RM1")
    before = _versions(services)

    path = _feed(tmp_path / "gp.csv", _jones())
    run = _import(services, path, bulk)
    assert run.counts["linked"] == 1

    # One A08 per subscriber, carrying the record as it now is.
    sent = _outbound(services)
    assert sorted((dest, kind) for dest, kind, _ in sent) == [
        ("MIRROR", "ADT^A08"),
        ("PASCOPY", "ADT^A08"),
    ]
    with services.read_session() as s:  # each subscriber's copy under its own MSH-10
        ids = {m.control_id: m.payload for m in s.scalars(select(OutboundMessage))}
    assert len(ids) == 2 and all(read_header(p).control_id == c for c, p in ids.items())
    one, two = ids.values()
    assert one.replace(read_header(one).control_id.encode(), b"") == two.replace(
        read_header(two).control_id.encode(), b""
    )
    for _, _, payload in sent:
        assert b"|JONES^John|" in payload
        assert b"9 New Street, Urmston^^^^M41 0AA" in payload
        assert b"G1^^^GP:P84001^PI" in payload and b"RM1^^^WGH^MR" in payload
    [event] = announced
    assert event.patient_id == patient_id and event.wards == ("AMU",)
    assert {"given_names", "address", "postcode", "gp_practice_code", "identifiers"} == set(
        event.fields
    )
    after = _versions(services)
    assert after["AMU"] == before["AMU"] + 1
    assert {w: v for w, v in after.items() if w != "AMU"} == {
        w: v for w, v in before.items() if w != "AMU"
    }
    # The board pushed to the ward shows the name the feed filled in (a push of the admission
    # may still be ahead of it in the socket).
    pushed = amu_board.wait_for(lambda snap: snap["version"] >= after["AMU"], timeout=30)
    assert pushed["version"] == after["AMU"]
    assert [p["display_name"] for p in pushed["patients"]] == ["JONES, John"]

    # The same file again: nothing changed, nothing announced, nothing queued, no board bump.
    announced.clear()
    rerun = _import(services, path, bulk)
    assert rerun.counts["unchanged"] == 1
    assert announced == [] and len(_outbound(services)) == 2
    assert _versions(services) == after

    # The next night the practice moves him (found by its own id now): one more A08 each.
    _import(services, _feed(tmp_path / "gp2.csv", _jones(postcode="M33 6GB")), bulk)
    [moved] = announced
    assert moved.patient_id == patient_id and moved.fields == ("postcode",)
    assert moved.wards == ("AMU",)
    later = _outbound(services)[2:]
    assert sorted(dest for dest, _, _ in later) == list(SUBSCRIBERS)
    assert all(b"M33 6GB" in payload for _, _, payload in later)


@pytest.mark.parametrize("bulk", PATHS)
def test_feed_change_to_a_patient_on_no_board_sends_the_a08_and_pushes_no_board(
    bulk, services, announced, tmp_path
):
    with services.uow_factory() as uow:
        resolve_identity(
            uow.session,
            PatientDetails(
                identifiers=(Identifier("H9", "WGH", "MR"),),
                nhs_number="9990000026",
                family_name="OKAFOR",
                given_names="Adaeze",
                date_of_birth=date(1990, 7, 1),
                sex="F",
                address="3 Oak Road, Fallowfield",
                postcode="M14 4PX",
            ),
        )
        uow.commit()
    before = _versions(services)
    row = _jones(
        practice_patient_id="G2",
        nhs_number="9990000026",
        family_name="Okafor",
        given_names="Adaeze",
        date_of_birth="1990-07-01",
        sex="F",
        address_line_1="40 Wilbraham Road",
        address_line_2="",
        postcode="M16 8LN",
    )
    path = _feed(tmp_path / "gp.csv", row)
    _import(services, path, bulk)

    sent = _outbound(services)
    assert sorted((dest, kind) for dest, kind, _ in sent) == [
        ("MIRROR", "ADT^A08"),
        ("PASCOPY", "ADT^A08"),
    ]
    assert all(b"|OKAFOR^Adaeze|" in p and b"M16 8LN" in p for _, _, p in sent)
    [event] = announced
    assert event.patient_id == _patient_id(services, "WGH", "H9") and event.wards == ()
    assert _versions(services) == before
    with services.read_session() as s:  # the record audit names the feed as the changer
        [audited] = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "record.PatientDetailsCorrected")
        ).all()
    assert (audited.actor, audited.patient_id) == ("gp_feed", event.patient_id)

    announced.clear()
    _import(services, path, bulk)
    assert announced == [] and len(_outbound(services)) == 2


@pytest.mark.parametrize("bulk", PATHS)
def test_each_patient_a_chunk_changes_gets_its_own_a08(bulk, services, announced, tmp_path):
    people = [
        ("SHAW", "Helen", "9990000026"),
        ("LOWE", "Peter", "9990000034"),
        ("KHAN", "Aisha", "9990000042"),
    ]
    with services.uow_factory() as uow:
        for n, (family, given, nhs) in enumerate(people):
            resolve_identity(
                uow.session,
                PatientDetails(
                    identifiers=(Identifier(f"H{n}", "WGH", "MR"),),
                    nhs_number=nhs,
                    family_name=family,
                    given_names=given,
                    date_of_birth=date(1950 + n, 1, 1),
                    sex="F",
                    postcode="M14 4PX",
                ),
            )
        uow.commit()
    rows = [
        _jones(
            practice_patient_id=f"G{n}",
            nhs_number=nhs,
            family_name=family.title(),
            given_names=given,
            date_of_birth=f"{1950 + n}-01-01",
            sex="F",
            address_line_1=f"{n} Moss Lane",
            address_line_2="",
            postcode="M33 6GB",
        )
        for n, (family, given, nhs) in enumerate(people)
    ]
    _import(services, _feed(tmp_path / "gp.csv", *rows), bulk)

    assert sorted(e.patient_id for e in announced) == sorted(
        _patient_id(services, "WGH", f"H{n}") for n in range(3)
    )
    sent = _outbound(services)
    assert len(sent) == 6
    for n, (family, given, _) in enumerate(people):
        mine = [dest for dest, _, p in sent if f"H{n}^^^WGH^MR".encode() in p]
        assert sorted(mine) == list(SUBSCRIBERS)
        for _, _, p in sent:
            if f"H{n}^^^WGH^MR".encode() in p:
                assert f"|{family}^{given}|".encode() in p and f"{n} Moss Lane".encode() in p


@pytest.mark.parametrize("bulk", PATHS)
def test_feed_names_the_ward_a_patient_is_booked_to_visit_today(
    bulk, services, announced, tmp_path
):
    with services.uow_factory() as uow:
        s = uow.session
        patient = resolve_identity(
            s,
            PatientDetails(
                identifiers=(Identifier("H7", "WGH", "MR"),),
                nhs_number="9990000018",
                family_name="JONES",
                given_names="John",
                date_of_birth=date(1958, 3, 12),
                sex="M",
                postcode="M33 7XX",
            ),
        ).patient
        w4 = s.scalars(select(Ward).where(Ward.code == "W4")).one()
        today = board_day(services)
        for day, ward_id in ((today, w4.id), (date(2020, 1, 1), w4.id)):
            s.add(
                OutpatientBooking(
                    patient_id=patient.id, ward_id=ward_id, visit_date=day, booked_by="t"
                )
            )
        uow.commit()
        patient_id = patient.id
    before = _versions(services)

    _import(services, _feed(tmp_path / "gp.csv", _jones()), bulk)

    [event] = announced
    assert event.patient_id == patient_id and event.wards == ("W4",)
    assert _versions(services)["W4"] == before["W4"] + 1
    with services.read_session() as s:
        assert s.get_one(Patient, patient_id).postcode == "M41 0AA"


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_cli_import_refreshes_boards_held_by_web_processes(site, nurse_token, tmp_path):
    """``run.py gp-feed import`` in its own process: the web process's board hears (Redis)."""
    _web, url = site.web()
    _mllp, port = site.mllp()
    board = Board(url, nurse_token)
    try:
        admit = adt("A01", hospital_number="RM8", family="JONES", given="", location="AMU^A^A1")
        with MllpClient("127.0.0.1", port) as mllp:
            assert ack_code(mllp.send(admit)) == "AA"
        board.wait_for_family("JONES")
        path = _feed(tmp_path / "gp.csv", _jones())
        done = subprocess.run(
            [sys.executable, "run.py", "gp-feed", "import", str(path)],
            cwd=ROOT,
            env=site.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert "linked 1" in done.stdout
        names = [p["display_name"] for p in board.wait_for_family("JONES, John")["patients"]]
        assert names == ["JONES, John"]
    finally:
        board.close()
