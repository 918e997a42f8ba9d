"""The master patient index on a real database (SQLite and PostgreSQL): tiers, vetoes, merge and
unmerge, redirects, the clerks' queue, the sweep, the GP feed and the link export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config.cli import cli
from mpi.audit import IdentityEvent
from mpi.events import PatientsMerged, PatientsUnmerged
from mpi.export import export_links
from mpi.gp_feed import HEADER, import_file
from mpi.history import BlockingKey, PatientName
from mpi.identity import resolve_identity
from mpi.models import Patient, PatientIdentifier
from mpi.review import ReviewPair
from mpi.sweep import run_sweep, sweep_report
from tests.hl7_builder import ack_code, adt
from whiteboard.commands import Identifier, PatientDetails
from whiteboard.models import Stay

JOHN = dict(
    family_name="JONES",
    given_names="John",
    date_of_birth=date(1958, 3, 12),
    sex="M",
    address="1 Church Road, Sale",
    postcode="M33 7XX",
)


def details(mrn: str, authority: str = "WGH", nhs: str | None = None, **fields) -> PatientDetails:
    return PatientDetails(
        identifiers=(Identifier(mrn, authority, "MR"),), nhs_number=nhs, **{**JOHN, **fields}
    )


def resolve(services, d: PatientDetails, origin: str | None = None):
    with services.uow_factory() as uow:
        res = resolve_identity(uow.session, d, origin=origin)
        uow.commit()
        return res.patient.id, res.tier, res.created, res.queued_with


def count(services, model) -> int:
    with services.read_session() as s:
        return s.scalar(select(func.count()).select_from(model))


def open_pairs(services) -> list[tuple[int, int]]:
    with services.read_session() as s:
        return [
            (p.patient_a_id, p.patient_b_id)
            for p in s.scalars(select(ReviewPair).where(ReviewPair.state == "open"))
        ]


# --- tiers -----------------------------------------------------------------------------------


@pytest.fixture
def client(client_as):
    """The clerks' queue and the index API are for records clerks (docs/SECURITY.md)."""
    return client_as("records_clerk")


def test_exact_identifier_tier_and_blocking_keys_maintained(services):
    pid, tier, created, _ = resolve(services, details("H1"))
    assert (tier, created) == ("new", True)
    with services.read_session() as s:
        keys = set(s.scalars(select(BlockingKey.key).where(BlockingKey.patient_id == pid)))
    assert any(k.startswith("ND:") for k in keys)
    again = resolve(services, details("H1", family_name="JONESS"))
    assert again[:3] == (pid, "identifier", False)
    with services.read_session() as s:
        keys2 = set(s.scalars(select(BlockingKey.key).where(BlockingKey.patient_id == pid)))
        previous = s.scalars(select(PatientName.family_name)).all()
    assert previous == ["JONES"]  # the old name stays searchable
    assert keys2 >= {k for k in keys if k.startswith("ND:JNS")}  # still found by the old name


def test_nhs_number_tier(services):
    pid = resolve(services, details("H1", nhs="9990000018"))[0]
    other = resolve(services, details("X9", authority="OTHER", nhs="9990000018", given_names="J"))
    assert other[:3] == (pid, "nhs_number", False)


def test_an_nhs_number_on_another_persons_details_is_not_a_link(services):
    """A relative's NHS number typed on a registration passes the checksum; the rest of the
    details say another person, so the holder's record is neither joined nor overwritten."""
    holder = resolve(services, details("H1", nhs="9990000018"))[0]
    stranger = details(
        "AE5",
        authority="WGH-AE",
        nhs="9990000018",
        family_name="OKAFOR",
        given_names="Grace",
        date_of_birth=date(1994, 7, 1),
        sex="F",
    )
    new_id, tier, created, _ = resolve(services, stranger)
    assert (tier, created) == ("new", True) and new_id != holder
    twin = details("AE6", authority="WGH-AE", nhs="9990000018", given_names="Jacob")
    twin_id, tier, created, _ = resolve(services, twin)  # same surname, birthday and home
    assert (tier, created) == ("new", True) and twin_id not in (holder, new_id)
    with services.read_session() as s:
        kept = s.get_one(Patient, holder)
        assert (kept.family_name, kept.given_names, kept.nhs_number) == (
            "JONES",
            "John",
            "9990000018",
        )
        assert s.get_one(Patient, new_id).nhs_number is None
        owner = select(PatientIdentifier.patient_id).where(PatientIdentifier.value == "9990000018")
        assert s.scalars(owner).all() == [holder]
    assert sorted(open_pairs(services)) == sorted(
        [tuple(sorted((holder, new_id))), tuple(sorted((holder, twin_id)))]
    )


def test_an_nhs_number_with_little_else_still_links(services):
    """Absent details are no evidence against the number (a result with a thin PID), nor is
    what a slip explains (a wrong sex)."""
    holder = resolve(services, details("H1", nhs="9990000018"))[0]
    thin = PatientDetails(
        identifiers=(Identifier("L1", "LAB", "PI"),), nhs_number="9990000018", family_name="JONES"
    )
    assert resolve(services, thin)[:2] == (holder, "nhs_number")
    slip = details("X2", authority="OTHER", nhs="9990000018", sex="F")
    assert resolve(services, slip)[:2] == (holder, "nhs_number")


def test_probabilistic_auto_link_attaches_the_local_identifier(services):
    pid = resolve(services, details("H1"))[0]
    found = resolve(services, details("AE77", authority="WGH-AE", given_names="Jon"))
    assert found[0] == pid and found[1] == "probabilistic"
    with services.read_session() as s:
        link = s.scalars(select(PatientIdentifier).where(PatientIdentifier.value == "AE77")).one()
    assert link.patient_id == pid
    assert link.link_source == "probabilistic" and link.link_score >= 24


def test_review_zone_creates_a_new_patient_and_queues_the_pair(services):
    pid = resolve(services, details("H1"))[0]
    new_id, tier, created, queued = resolve(
        services,
        details("H2", date_of_birth=date(1958, 3, 13), address="9 Elm Street", postcode="M41 5SL"),
    )
    assert (tier, created) == ("new", True) and new_id != pid
    assert queued == (pid,)
    assert open_pairs(services) == [(pid, new_id)]


def test_new_person_when_nothing_matches(services):
    resolve(services, details("H1"))
    other = resolve(
        services,
        details(
            "H2",
            family_name="OKAFOR",
            given_names="Adaeze",
            sex="F",
            date_of_birth=date(1990, 1, 7),
            postcode="M14 4PX",
            address="3 Oak Road",
        ),
    )
    assert other[1:3] == ("new", True)
    assert open_pairs(services) == []


def test_twins_are_never_auto_linked(services):
    jack = resolve(services, details("H1", given_names="Jack", date_of_birth=date(2010, 5, 6)))[0]
    jake = resolve(services, details("H2", given_names="Jake", date_of_birth=date(2010, 5, 6)))
    assert jake[0] != jack and jake[2] is True  # 27 bits, but the twins veto holds
    assert open_pairs(services) == [(jack, jake[0])]


def test_invalid_nhs_number_is_kept_flagged_and_never_used(services):
    pid = resolve(services, details("H1", nhs="1234567890"))[0]
    with services.read_session() as s:
        p = s.get_one(Patient, pid)
        [nhs] = [i for i in p.identifiers if i.authority == "NHS"]
    assert p.nhs_number is None and nhs.value == "1234567890" and nhs.valid is False


def test_placeholder_is_created_alone_then_real_name_replaces_it(services):
    resolve(services, details("H1"))
    unknown = resolve(
        services,
        details(
            "AE1",
            authority="WGH-AE",
            family_name="UNKNOWN",
            given_names="Male",
            date_of_birth=date(1958, 1, 1),
        ),
        origin="AE",
    )
    assert unknown[1:3] == ("new", True)
    with services.read_session() as s:
        assert s.get_one(Patient, unknown[0]).placeholder is True
    # A later placeholder message never overwrites a real name; a real name clears the flag.
    resolve(services, details("AE1", authority="WGH-AE", given_names="John"))
    with services.read_session() as s:
        p = s.get_one(Patient, unknown[0])
        assert (p.placeholder, p.family_name) == (False, "JONES")


# --- the pipeline ----------------------------------------------------------------------------


def test_adt_registration_auto_links_to_an_existing_person(services):
    assert ack_code(services.pipeline.receive(adt("A01", nhs_number=None), "t")) == "AA"
    raw = adt(
        "A04",
        hospital_number="AE5001",
        nhs_number=None,
        given="Jon",
        patient_class="E",
        location="AE^MAJ^M1",
        visit="E1",
    )
    assert ack_code(services.pipeline.receive(raw, "t")) == "AA"
    with services.read_session() as s:
        [p] = s.scalars(select(Patient)).all()
        assert {i.value for i in p.identifiers} == {"RM3000001", "AE5001"}
        assert len(s.scalars(select(Stay).where(Stay.patient_id == p.id)).all()) == 2


# --- merge, redirect, unmerge ----------------------------------------------------------------


def _state(services) -> dict:
    with services.read_session() as s:
        patients = {
            p.id: (
                p.family_name,
                p.given_names,
                p.date_of_birth,
                p.postcode,
                p.address,
                p.nhs_number,
                p.merged_into_id,
                p.placeholder,
            )
            for p in s.scalars(select(Patient))
        }
        idents = sorted(
            s.execute(
                select(
                    PatientIdentifier.value,
                    PatientIdentifier.patient_id,
                    PatientIdentifier.link_source,
                )
            ).all()
        )
        stays = sorted(s.execute(select(Stay.id, Stay.patient_id)).all())
        keys = sorted(s.execute(select(BlockingKey.key, BlockingKey.patient_id)).all())
        names = sorted(s.execute(select(PatientName.patient_id, PatientName.family_name)).all())
    return {"patients": patients, "idents": idents, "stays": stays, "keys": keys, "names": names}


def test_merge_redirects_moves_stays_and_unmerge_restores_exactly(services, client):
    seen = []
    services.bus.event_handlers.setdefault(PatientsMerged, []).append(seen.append)
    services.bus.event_handlers.setdefault(PatientsUnmerged, []).append(seen.append)
    services.pipeline.receive(adt("A01", hospital_number="H1", nhs_number=None), "t")
    services.pipeline.receive(
        adt(
            "A04",
            hospital_number="H2",
            nhs_number="9990000018",
            family="OKAFOR",
            given="Ada",
            sex="F",
            dob="19900107",
            patient_class="E",
            location="AE^MAJ^M1",
            visit="E1",
        ),
        "t",
    )
    with services.read_session() as s:
        first = s.scalar(
            select(PatientIdentifier.patient_id).where(PatientIdentifier.value == "H1")
        )
        second = s.scalar(
            select(PatientIdentifier.patient_id).where(PatientIdentifier.value == "H2")
        )
    assert first != second
    before = _state(services)

    res = client.post(
        "/api/v1/mpi/merges",
        json={"survivor_id": first, "merged_id": second, "take_from_merged": ["nhs_number"]},
    )
    assert res.status_code == 200, res.json
    merge_id = res.json["merge_id"]
    assert isinstance(seen[0], PatientsMerged) and set(seen[0].wards) == {"AMU", "AE"}
    # The old id and the old number both reach the survivor; the stays moved with the person.
    r = client.get(f"/api/v1/mpi/patients/{second}").json
    assert r["redirected"] is True and r["patient"]["id"] == first
    assert r["patient"]["nhs_number"] == "9990000018"
    assert resolve(services, details("H2"))[0] == first
    with services.read_session() as s:
        assert set(s.scalars(select(Stay.patient_id))) == {first}
        assert s.scalars(select(BlockingKey).where(BlockingKey.patient_id == second)).all() == []

    res = client.post(f"/api/v1/mpi/merges/{merge_id}/unmerge", json={})
    assert res.status_code == 200, res.json
    after = _state(services)
    assert after == before
    assert isinstance(seen[-1], PatientsUnmerged)
    again = client.post(f"/api/v1/mpi/merges/{merge_id}/unmerge", json={})
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    with services.read_session() as s:
        kinds = [e.kind for e in s.scalars(select(IdentityEvent).order_by(IdentityEvent.id))]
    assert "merge" in kinds and "unmerge" in kinds


def test_clerk_queue_merge_and_not_duplicate_is_remembered(services, client):
    pid = resolve(services, details("H1"))[0]
    dup = resolve(
        services,
        details("H2", date_of_birth=date(1958, 3, 13), address="9 Elm Street", postcode="M41 5SL"),
    )[0]
    twin_home = dict(address="3 Oak Road", postcode="M14 4PX", date_of_birth=date(2010, 5, 6))
    twin = resolve(services, details("H3", given_names="Jack", **twin_home))[0]
    resolve(services, details("H4", given_names="Jake", **twin_home))
    queue = client.get("/api/v1/mpi/review").json
    assert queue["total"] == 2
    by_patients = {(p["patient_a"]["id"], p["patient_b"]["id"]): p for p in queue["pairs"]}
    pair = by_patients[(pid, dup)]
    assert pair["decision"]["explanation"][0]["field"] and pair["decision"]["score"] > 10
    twins = next(p for p in queue["pairs"] if p["patient_a"]["id"] == twin)
    assert (
        client.post(f"/api/v1/mpi/review/{twins['id']}/not-duplicate", json={}).status_code == 200
    )
    bad = client.post(f"/api/v1/mpi/review/{pair['id']}/merge", json={"survivor_id": 999})
    assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
    ok = client.post(
        f"/api/v1/mpi/review/{pair['id']}/merge",
        json={"survivor_id": pid, "take_from_merged": ["address", "postcode"]},
    )
    assert ok.status_code == 200, ok.json
    with services.read_session() as s:
        assert s.get_one(Patient, pid).postcode == "M41 5SL"
    assert client.get("/api/v1/mpi/review").json["total"] == 0
    # The twins are never asked about again, however often they are re-checked.
    with services.uow_factory() as uow:
        from mpi.review import queue_pair

        assert queue_pair(uow.session, twin, twin + 1, {"score": 30.0}, found_by="t") is None
    assert client.get("/mpi/review").status_code == 200
    assert client.get("/api/v1/mpi/review/99999").status_code == 404


# --- sweep -----------------------------------------------------------------------------------


def test_sweep_merges_a_corrected_ae_placeholder_and_reports_waits(services):
    known = resolve(services, details("H1"))[0]
    ae = resolve(
        services,
        details(
            "AE1",
            authority="WGH-AE",
            family_name="UNKNOWN",
            given_names="Male",
            date_of_birth=date(1958, 1, 1),
            postcode=None,
            address=None,
        ),
        origin="AE",
    )[0]
    # The desk finds out who he is, but the correction arrives on the A&E number only.
    with services.uow_factory() as uow:
        p = uow.session.get_one(Patient, ae)
        p.family_name, p.given_names, p.placeholder = "JONES", "John", False
        p.date_of_birth, p.dob_placeholder, p.postcode = date(1958, 3, 12), False, "M33 7XX"
        p.address = "1 Church Road, Sale"
        uow.commit()
    result = run_sweep(services)
    assert result.merged == [(known, ae)]
    assert resolve(services, details("AE1", authority="WGH-AE"))[0] == known
    report = sweep_report(services)
    assert report["ae_records"] == 1 and report["none_waited_over_24h"] is True
    later = sweep_report(services, now=datetime.now(UTC) + timedelta(days=3))
    assert later["none_waited_over_24h"] is True  # it was re-checked within the hour


# --- GP feed and export ----------------------------------------------------------------------


def _feed(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=HEADER)
        w.writeheader()
        for row in rows:
            w.writerow({k: row.get(k, "") for k in HEADER})
    return path


GP_ROWS = [
    dict(
        practice_ods_code="P84001",
        practice_patient_id="G1",
        nhs_number="9990000018",
        family_name="Jones",
        given_names="John",
        date_of_birth="1958-03-12",
        sex="M",
        address_line_1="4 New Road",
        address_line_2="Urmston",
        postcode="M41 0AA",
        previous_postcodes="M33 7XX",
    ),
    dict(
        practice_ods_code="P84001",
        practice_patient_id="G2",
        nhs_number="9990000026",
        family_name="Okafor",
        given_names="Adaeze",
        date_of_birth="1990-01-07",
        sex="F",
        address_line_1="3 Oak Road",
        postcode="M14 4PX",
    ),
    dict(
        practice_ods_code="P84001",
        practice_patient_id="G3",
        family_name="Bad",
        date_of_birth="12/03/1958",
    ),
]


def test_gp_feed_updates_links_creates_and_rerun_changes_nothing(services, tmp_path):
    pid = resolve(services, details("H1", nhs="9990000018"))[0]
    path = _feed(tmp_path / "feed.csv", GP_ROWS)
    run = import_file(services, path)
    assert run.state == "done"
    assert run.counts["linked"] == 1 and run.counts["created"] == 1 and run.counts["errors"] == 1
    assert run.errors[0]["line"] == 4
    with services.read_session() as s:
        p = s.get_one(Patient, pid)
        assert (p.postcode, p.gp_practice_code, p.family_name) == ("M41 0AA", "P84001", "JONES")
    before = _state(services)
    events = count(services, IdentityEvent)
    rerun = import_file(services, path)
    assert rerun.counts["unchanged"] == 2 and "created" not in rerun.counts
    assert _state(services) == before and count(services, IdentityEvent) == events


def test_gp_feed_cli_history_and_export_links(runner, services, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("WARDBOARD_DATABASE_URL", settings.database_url)
    path = _feed(tmp_path / "feed.csv", GP_ROWS[:2])
    result = runner.invoke(cli, ["gp-feed", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "created 2" in result.output
    result = runner.invoke(cli, ["gp-feed", "history"])
    assert result.exit_code == 0 and "feed.csv done" in result.output
    bad = _feed(tmp_path / "bad.csv", [])
    bad.write_text("just,some,columns\n1,2,3\n")
    result = runner.invoke(cli, ["gp-feed", "import", str(bad)])
    assert result.exit_code == 1 and "missing columns" in result.output
    out = tmp_path / "links.csv"
    result = runner.invoke(cli, ["mpi", "export-links", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert {r["source"] for r in rows} == {"GP:P84001", "NHS"}
    assert rows[0].keys() >= {"local_id", "enterprise_id", "link_state", "score"}
    buf = io.StringIO()
    with services.read_session() as s:
        assert export_links(s, buf) == 4


def test_search_api_and_openapi_list_the_mpi_routes(services, client):
    pid = resolve(services, details("H1"))[0]
    res = client.get(
        "/api/v1/mpi/search",
        query_string={
            "family_name": "Jones",
            "given_names": "Jon",
            "date_of_birth": "1958-03-12",
            "postcode": "m33 7xx",
            "address": "1 Church Rd",
            "sex": "M",
        },
    )
    assert res.status_code == 200
    [top] = res.json["candidates"]
    assert top["patient"]["id"] == pid and top["zone"] == "auto_link"
    bad = client.get("/api/v1/mpi/search", query_string={"date_of_birth": "12/03/1958"})
    assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "/api/v1/mpi/review/{pair_id}/merge" in paths and "/api/v1/mpi/search" in paths
    assert client.get("/api/v1/mpi/sweep/report").json["none_waited_over_24h"] is True
    assert client.get("/api/v1/mpi/gp-feed/runs").json == {"runs": []}


def test_a_wrong_auto_link_is_unlinked_with_its_stay(services, client):
    assert ack_code(services.pipeline.receive(adt("A01", nhs_number=None), "t")) == "AA"
    raw = adt(
        "A04",
        hospital_number="AE5001",
        nhs_number=None,
        given="Jon",
        patient_class="E",
        location="AE^MAJ^M1",
        visit="E1",
    )
    assert ack_code(services.pipeline.receive(raw, "t")) == "AA"
    with services.read_session() as s:
        ident = s.scalars(
            select(PatientIdentifier).where(PatientIdentifier.value == "AE5001")
        ).one()
        owner = ident.patient_id
        ae_stay = s.scalars(select(Stay.id).where(Stay.visit_number == "E1")).one()
    res = client.post(f"/api/v1/mpi/identifiers/{ident.id}/unlink", json={"stay_ids": [ae_stay]})
    assert res.status_code == 200, res.json
    new_id = res.json["patient_id"]
    assert new_id != owner
    with services.read_session() as s:
        assert s.get_one(Stay, ae_stay).patient_id == new_id
        assert s.get_one(PatientIdentifier, ident.id).link_source == "manual"
        kinds = set(s.scalars(select(IdentityEvent.kind)))
    assert "unlink" in kinds
    # The number now reaches its own record.
    assert resolve(services, details("AE5001", authority="WGH"))[0] == new_id
    again = client.post(f"/api/v1/mpi/identifiers/{ident.id}/unlink", json={})
    assert again.status_code == 400  # it is the new patient's only identifier


def test_outpatient_bookings_follow_a_merge_and_go_back_on_unmerge(services, client):
    from whiteboard.models import OutpatientBooking, Ward

    services.pipeline.receive(adt("A01", hospital_number="H1", nhs_number=None), "t")
    services.pipeline.receive(
        adt(
            "A04",
            hospital_number="H2",
            nhs_number=None,
            family="OKAFOR",
            given="Ada",
            sex="F",
            dob="19900107",
            patient_class="E",
            location="AE^MAJ^M1",
            visit="E1",
        ),
        "t",
    )
    with services.read_session() as s:
        first, second = (
            s.scalar(select(PatientIdentifier.patient_id).where(PatientIdentifier.value == h))
            for h in ("H1", "H2")
        )
        ward_id = s.scalar(select(Ward.id).where(Ward.code == "AMU"))
    assert first != second
    with services.uow_factory() as uow:
        booking = OutpatientBooking(
            patient_id=second, ward_id=ward_id, visit_date=date(2026, 11, 23), booked_by="C1"
        )
        uow.session.add(booking)
        uow.commit()
        booking_id = booking.id

    res = client.post("/api/v1/mpi/merges", json={"survivor_id": first, "merged_id": second})
    assert res.status_code == 200, res.json
    with services.read_session() as s:
        assert s.get_one(OutpatientBooking, booking_id).patient_id == first
    res = client.post(f"/api/v1/mpi/merges/{res.json['merge_id']}/unmerge", json={})
    assert res.status_code == 200, res.json
    with services.read_session() as s:
        assert s.get_one(OutpatientBooking, booking_id).patient_id == second


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"date_of_birth": date(1958, 1, 1)},  # a new patient's record says dob_placeholder
        {"postcode": " m33 7xx ", "address": ""},
        {"sex": "X", "given_names": "Mary-Jane  Anne", "family_name": "O'Brien-Smith"},
        {"nhs": "9990000018"},
        {"nhs": "1234567890"},  # fails its checksum: kept as an identifier, never keyed
        {"date_of_birth": None, "postcode": None},
        {"family_name": "UNKNOWN", "given_names": "Male", "nhs": "9990000018"},  # NHS key only
    ],
)
def test_a_new_patients_blocking_keys_are_those_of_its_stored_record(services, fields):
    """``resolve_identity`` reuses the keys it searched with for the patient it then creates;
    they must be exactly what the stored record gives."""
    from mpi.records import keys_for, records_for

    resolve(services, details("H0", family_name="SOMEONE", given_names="Else"))
    fields = dict(fields)  # the parameter is shared by the SQLite and PostgreSQL runs
    nhs = fields.pop("nhs", None)
    pid, tier, created, _ = resolve(services, details("H1", nhs=nhs, **fields))
    assert (tier, created) == ("new", True)
    with services.read_session() as s:
        stored = set(s.scalars(select(BlockingKey.key).where(BlockingKey.patient_id == pid)))
        patient = s.get_one(Patient, pid)
        expected = keys_for(records_for(s, [pid])[pid], patient.placeholder)
    assert stored == expected
    assert stored


def test_the_identifier_look_up_reads_the_unique_index(services):
    """Every ADT message looks up who holds its identifiers. By value alone nothing is
    indexed, and the look-up scanned the whole identifier table (1.4 million rows at the seed
    hospital's size); by (authority, value) it is an equality on the unique index. The plan
    is asked for with sequential scans priced out on PostgreSQL, so a tiny test table cannot
    hide a missing index."""
    from mpi.resolve import _held_query

    stmt = _held_query(2)
    params = {"a0": "WGH", "v0": "H1", "a1": "NHS", "v1": "9990000018"}
    with services.engine.connect() as conn:
        compiled = stmt.compile(dialect=conn.dialect)
        values = compiled.construct_params(params)
        if conn.dialect.name == "sqlite":
            ordered = tuple(values[k] for k in compiled.positiontup or ())
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", ordered).all()
        else:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = conn.exec_driver_sql(f"EXPLAIN {compiled}", values).all()
    lines = [str(row) for row in plan]
    text = "\n".join(lines)
    # A search of the index on both columns, not a scan of the table or of the whole index.
    assert "SCAN patient_identifier" not in text and "Seq Scan" not in text, text
    assert "authority=? AND value=?" in text or any(
        "Index Cond" in line and "authority" in line and "value" in line for line in lines
    ), text
