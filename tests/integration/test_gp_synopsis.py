"""The GP record synopsis: intake over HL7 (MLLP) and JSON, sharing on/off, audit, GP scope."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from config.cli import cli
from integration.journal import InboundMessage
from integration.mllp.client import MllpClient
from mpi.models import Patient
from tests.auth_helpers import csrf_token, sign_on
from tests.hl7_builder import ack_code, ack_segment
from whiteboard.auth.audit_model import AuditEntry
from whiteboard.gp_commands import AuthoriseGpSharing
from whiteboard.gp_record import gp_record_for
from whiteboard.models import GpSynopsis, GpSynopsisAllergy, GpSynopsisMedication

NHS = "9990000018"  # JONES, registered with Y01234 by the A31 below
OTHER_NHS = "9990000026"  # SMITH, registered with Y09999
PD1 = "PD1|||Manor Surgery^^^^^^^^^Y01234"


def a31(control_id: str, *clinical: str, when: str = "20261201090000", pd1: str = PD1) -> bytes:
    segments = [
        f"MSH|^~\\&|EMIS|Y01234|WARDBOARD|WGH|{when}||ADT^A31^ADT_A05|{control_id}|P|2.5.1",
        f"EVN|A31|{when}",
        f"PID|1||G1001^^^GP:Y01234^PI~{NHS}^^^NHS^NH||JONES^John||19580312|M|||"
        "1 Church Road^^Sale^^M33 7XX",
        pd1,
        "PV1|1|N",
        *clinical,
    ]
    return ("\r".join(s for s in segments if s) + "\r").encode()


SYNOPSIS_SEGMENTS = (
    "OBX|1|CWE|10160-0^History of medication use^LN|1|318240004^Amlodipine 5mg tablets^SCT"
    "||||||F|||20240115",
    "OBX|2|ST|DOSE^Dose^L|1|5 mg once a day||||||F",
    "OBX|3|CWE|10160-0^History of medication use^LN|2|^Salbutamol 100mcg inhaler^DMD||||||F",
    "AL1|1|DA|91936005^Penicillin^SCT|SV|Anaphylaxis~Urticaria|20100101",
    "AL1|2|FA|^Peanuts|MI|Itching",
    "DG1|1||22298006^Myocardial infarction^SCT||20200301|F",
    "PR1|1||232717009^Coronary artery bypass graft^SCT||202003",
)


def send_mllp(live_server, raw: bytes) -> bytes:
    with MllpClient("127.0.0.1", live_server.mllp.port) as client:
        return client.send(raw)


def _patient(services, family: str, nhs: str, practice: str | None) -> int:
    with services.uow_factory() as uow:
        p = Patient(
            family_name=family, given_names="Ann", nhs_number=nhs, gp_practice_code=practice
        )
        uow.session.add(p)
        uow.session.flush()
        pid = p.id
        uow.commit()
    return pid


def _patient_id(services, nhs: str = NHS) -> int:
    with services.read_session() as s:
        return s.scalars(select(Patient.id).where(Patient.nhs_number == nhs)).one()


def _count(services, model) -> int:  # type: ignore[no-untyped-def]
    with services.read_session() as s:
        return s.scalar(select(func.count()).select_from(model))


def _views(services, patient_id: int) -> list[AuditEntry]:
    with services.read_session() as s:
        return list(
            s.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "gp_synopsis.view")
                .where(AuditEntry.patient_id == patient_id)
                .order_by(AuditEntry.id)
            )
        )


def _doc(**over):  # type: ignore[no-untyped-def]
    doc = {
        "nhs_number": NHS,
        "as_of": "2026-12-01T10:00:00+00:00",
        "medications": [
            {"name": "Ramipril 5mg capsules", "dose": "one daily", "started": "2025-02-01"}
        ],
        "allergies": [{"substance": "Latex", "reaction": "Rash", "severity": "moderate"}],
        "significant_events": [{"date": "2019-06-30", "description": "Type 2 diabetes"}],
    }
    doc.update(over)
    return doc


def test_hl7_synopsis_over_mllp_is_shown_only_while_the_practice_shares(
    live_server, app, services, client_as
):
    ack = send_mllp(live_server, a31("SYN1", *SYNOPSIS_SEGMENTS))
    assert ack_code(ack) == "AA", ack
    patient_id = _patient_id(services)
    with services.read_session() as s:
        syn = s.scalars(select(GpSynopsis)).one()
        assert (syn.patient_id, syn.practice_code) == (patient_id, "Y01234")
        assert syn.source.startswith("hl7:")
        assert [(m.name, m.dose, str(m.started)) for m in syn.medications] == [
            ("Amlodipine 5mg tablets", "5 mg once a day", "2024-01-15"),
            ("Salbutamol 100mcg inhaler", "", "None"),
        ]
        assert [(a.substance, a.reaction, a.severity) for a in syn.allergies] == [
            ("Penicillin", "Anaphylaxis; Urticaria", "severe"),
            ("Peanuts", "Itching", "mild"),
        ]
        assert [(e.description, str(e.event_date)) for e in syn.events] == [
            ("Myocardial infarction", "2020-03-01"),
            ("Coronary artery bypass graft", "2020-03-01"),
        ]
        entry = s.scalars(select(InboundMessage).where(InboundMessage.control_id == "SYN1")).one()
        assert entry.state == "applied"

    doctor = client_as("doctor")
    admin = client_as("admin")
    page = doctor.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert 'data-status="not_shared"' in page
    assert "Not shared by practice Y01234" in page
    assert "Penicillin" not in page
    api = doctor.get(f"/api/v1/patients/{patient_id}/gp-synopsis").get_json()
    assert api["status"] == "not_shared" and "synopsis" not in api
    assert _views(services, patient_id) == []  # nothing shown, nothing to audit as a view

    made = admin.post(
        "/api/v1/admin/gp-sharing",
        json={"practice": "y01234", "authorised_by": "Dr Patel, Caldicott Guardian"},
    )
    assert made.status_code == 201, made.get_json()
    again = admin.post(
        "/api/v1/admin/gp-sharing", json={"practice": "Y01234", "authorised_by": "Dr Patel"}
    )
    assert again.status_code == 409 and again.mimetype == "application/problem+json"

    page = doctor.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert 'data-status="shown"' in page
    assert "Penicillin" in page and "Anaphylaxis; Urticaria" in page
    assert "Amlodipine 5mg tablets" in page and "Myocardial infarction" in page
    api = doctor.get(f"/api/v1/patients/{patient_id}/gp-synopsis").get_json()
    assert api["status"] == "shown"
    assert api["synopsis"]["allergies"][0] == {
        "substance": "Penicillin",
        "reaction": "Anaphylaxis; Urticaria",
        "severity": "severe",
    }
    views = _views(services, patient_id)
    assert len(views) == 2  # one per view: the page, then the API
    assert json.loads(views[0].detail)["practice"] == "Y01234"
    assert views[0].actor_role == "doctor"

    revoked = admin.post("/api/v1/admin/gp-sharing/Y01234/revoke")
    assert revoked.status_code == 200
    page = doctor.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert "Not shared by practice Y01234" in page and "Penicillin" not in page
    assert len(_views(services, patient_id)) == 2
    listing = admin.get("/api/v1/admin/gp-sharing").get_json()["authorisations"]
    assert [(a["practice"], a["active"], a["revoked_by"] is not None) for a in listing] == [
        ("Y01234", False, True)
    ]
    assert admin.get("/api/v1/audit/verify").get_json()["ok"] is True
    with services.read_session() as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"gp_sharing.authorise", "gp_sharing.revoke", "record.GpSynopsisRecorded"} <= actions


def test_bad_hl7_synopsis_is_refused_with_err_and_nothing_is_written(services):
    bad_severity = a31("BAD1", "AL1|1|DA|^Penicillin|XX|Rash")
    ack = services.pipeline.receive(bad_severity, "test")
    assert ack_code(ack) == "AR"
    err = ack_segment(ack, "ERR")
    assert "AL1^1^4" in "|".join(err) and "103" in "|".join(err)
    no_practice = a31("BAD2", *SYNOPSIS_SEGMENTS, pd1="")
    ack = services.pipeline.receive(no_practice, "test")
    assert ack_code(ack) == "AR" and "PD1^1^3" in "|".join(ack_segment(ack, "ERR"))
    bad_date = a31("BAD3", "DG1|1||^Asthma||2019-13-45")
    assert ack_code(services.pipeline.receive(bad_date, "test")) == "AR"
    assert _count(services, GpSynopsis) == 0
    assert _count(services, GpSynopsisAllergy) == 0
    with services.read_session() as s:
        states = set(s.scalars(select(InboundMessage.state)))
        assert states == {"rejected"}  # in the error queue, for a person to look at
        assert s.scalars(select(Patient)).first() is None  # not even the person was touched


def test_plain_a31_keeps_the_synopsis_and_an_older_synopsis_never_replaces_a_newer(services):
    newer = a31("N1", *SYNOPSIS_SEGMENTS, when="20261201090000")
    assert ack_code(services.pipeline.receive(newer, "test")) == "AA"
    plain = a31("P1", when="20261201100000")  # demographics only: no clinical segments
    assert ack_code(services.pipeline.receive(plain, "test")) == "AA"
    older = a31("O1", "AL1|1|DA|^Aspirin|MO|Wheeze", when="20261130090000")
    assert ack_code(services.pipeline.receive(older, "test")) == "AA"
    with services.read_session() as s:
        [syn] = s.scalars(select(GpSynopsis)).all()
        assert [a.substance for a in syn.allergies] == ["Penicillin", "Peanuts"]
    nka = a31("K1", "AL1|1||NKA^No known allergies", when="20261202090000")
    assert ack_code(services.pipeline.receive(nka, "test")) == "AA"
    with services.read_session() as s:
        [syn] = s.scalars(select(GpSynopsis)).all()  # replaced: one synopsis per practice
        assert syn.allergies == [] and syn.medications == []
    assert _count(services, GpSynopsisMedication) == 0


def test_gp_json_api_own_patients_only_and_bad_input_writes_nothing(app, services, make_staff):
    own = _patient(services, "JONES", NHS, "Y01234")
    _patient(services, "SMITH", OTHER_NHS, "Y09999")
    gp = make_staff("gp", practice="Y01234")
    client = app.test_client()
    sign_on(client, gp.card, gp.pin)
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client, "/patients")

    ok = client.post("/api/v1/gp/synopsis", json=_doc())
    assert ok.status_code == 201, ok.get_json()
    with services.read_session() as s:
        syn = s.scalars(select(GpSynopsis)).one()
        assert (syn.patient_id, syn.practice_code) == (own, "Y01234")
        assert syn.source == f"api:{gp.username}"
        assert [m.name for m in syn.medications] == ["Ramipril 5mg capsules"]
        changed = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "record.GpSynopsisRecorded")
        ).one()
        assert (changed.actor, changed.patient_id) == (gp.username, own)

    other = client.post("/api/v1/gp/synopsis", json=_doc(nhs_number=OTHER_NHS))
    unknown = client.post("/api/v1/gp/synopsis", json=_doc(nhs_number="9990000034"))
    assert other.status_code == unknown.status_code == 404
    assert other.get_json() == unknown.get_json()  # cannot learn another practice's patient
    assert other.mimetype == "application/problem+json"
    mismatch = client.post("/api/v1/gp/synopsis", json=_doc(practice="Y09999"))
    assert mismatch.status_code == 403

    bad_bodies = {
        "allergies[0].severity": _doc(allergies=[{"substance": "Latex", "severity": "awful"}]),
        "medications[0].name": _doc(medications=[{"dose": "one daily"}]),
        "significant_events": _doc(significant_events=None),
        "allergys": {**_doc(), "allergys": []},
        "as_of": _doc(as_of="2026-12-01T10:00:00"),
        "nhs_number": _doc(nhs_number="1234567890"),
        "medications[1].started": _doc(
            medications=[{"name": "A"}, {"name": "B", "started": "yesterday"}]
        ),
    }
    for field, body in bad_bodies.items():
        response = client.post("/api/v1/gp/synopsis", json=body)
        assert response.status_code == 422, (field, response.get_json())
        assert field in response.get_json()["detail"], (field, response.get_json())
    not_json = client.post("/api/v1/gp/synopsis", data="[1, 2", content_type="application/json")
    assert not_json.status_code == 422
    with services.read_session() as s:
        [syn] = s.scalars(select(GpSynopsis)).all()  # still only the first, untouched
        assert [m.name for m in syn.medications] == ["Ramipril 5mg capsules"]


def test_roles_that_may_not_read_or_manage_gp_records(app, services, client_as):
    patient_id = _patient(services, "JONES", NHS, "Y01234")
    nurse = client_as("nurse")
    assert nurse.get(f"/api/v1/patients/{patient_id}/gp-synopsis").status_code == 403
    page = nurse.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert 'id="gp-record"' not in page  # the role may not read GP records at all
    assert nurse.post("/api/v1/gp/synopsis", json=_doc()).status_code == 403
    gp = client_as("gp")
    assert gp.get(f"/api/v1/patients/{patient_id}/gp-synopsis").status_code == 403
    assert gp.post("/api/v1/admin/gp-sharing", json={"practice": "P1"}).status_code == 403
    doctor = client_as("doctor")
    assert doctor.get("/api/v1/admin/gp-sharing").status_code == 403
    assert doctor.get("/gp").status_code == 403
    bad = client_as("admin").post("/api/v1/admin/gp-sharing", json={"practice": "Y01234"})
    assert bad.status_code == 422


def _hl7(services, *segments: str, kind: str, cid: str) -> None:
    pid = f"PID|1||RM1^^^WGH^MR~{NHS}^^^NHS^NH||JONES^John||19580312|M"
    msh = f"MSH|^~\\&|GPSYS|Y01234|WARDBOARD|WGH|20261122091500||{kind}|{cid}|P|2.5.1"
    raw = ("\r".join([msh, pid, PD1, *segments]) + "\r").encode()
    assert ack_code(services.pipeline.receive(raw, "test")) == "AA"


def test_gp_portal_shows_own_patients_episodes_orders_and_results_only(app, services, make_staff):
    from tests.hl7_builder import adt

    _hl7(
        services,
        "PV1|1|I|AMU^A^A1||||C1^OKAFOR^Ada|||||||||||||V77||||||||||||||||||||||||20261122091500",
        kind="ADT^A01^ADT_A01",
        cid="ADM1",
    )
    _hl7(
        services,
        "ORC|NW|GP0001|||||||||||||||||||Manor^^^^^^^^^Y01234",
        "OBR|1|GP0001||FBC^Full blood count^LN|||20261122090000",
        kind="ORM^O01^ORM_O01",
        cid="ORD1",
    )
    _hl7(
        services,
        "OBR|1|GP0001|LAB1|FBC^Full blood count^LN||||||||||||||||||20261122110000|||F",
        "OBX|1|NM|718-7^Haemoglobin^LN||131|g/L|130-170|N",
        kind="ORU^R01^ORU_R01",
        cid="RES1",
    )
    raw = adt("A01", hospital_number="RM9", nhs_number=OTHER_NHS, family="SMITH", visit="V88")
    assert ack_code(services.pipeline.receive(raw, "test")) == "AA"
    own, other = _patient_id(services, NHS), _patient_id(services, OTHER_NHS)

    gp = make_staff("gp", practice="Y01234")
    client = app.test_client()
    sign_on(client, gp.card, gp.pin)
    record = client.get(f"/api/v1/patients/{own}").get_json()
    assert [(s["ward"], s["state"]) for s in record["stays"]] == [("AMU", "active")]
    assert [(o["service"], o["status"]) for o in record["orders"]] == [
        ("Full blood count", "reported")
    ]
    assert record["results"][0]["observations"] == ["Haemoglobin: 131 g/L (ref 130-170) [N]"]
    page = client.get(f"/patients/{own}").get_data(as_text=True)
    assert "Full blood count" in page and "Haemoglobin: 131 g/L" in page
    assert 'id="gp-record"' not in page

    episodes = client.get("/api/v1/gp/episodes").get_json()
    assert episodes["practice"] == "Y01234"
    assert [
        (e["patient_id"], e["ward"], e["orders"], e["results"]) for e in episodes["episodes"]
    ] == [(own, "AMU", 1, 1)]
    portal = client.get("/gp").get_data(as_text=True)
    assert "JONES, John" in portal and "SMITH" not in portal

    hidden = client.get(f"/api/v1/patients/{other}")
    assert hidden.status_code == 404 and hidden.mimetype == "application/problem+json"
    assert client.get(f"/patients/{other}").status_code == 404
    with services.read_session() as s:
        portal_audits = s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "gp.portal")
        )
    assert portal_audits == 2


def test_admin_sharing_page_authorise_and_revoke(app, services, client_as):
    admin = client_as("admin")
    page = admin.get("/admin/gp-sharing")
    assert page.status_code == 200 and "No practice has authorised" in page.get_data(as_text=True)
    token = csrf_token(admin, "/admin/gp-sharing")
    posted = admin.post(
        "/admin/gp-sharing",
        data={
            "csrf_token": token,
            "practice": "Y01234",
            "authorised_by": "Dr Patel",
            "note": "letter",
        },
    )
    assert posted.status_code == 303
    page = admin.get("/admin/gp-sharing").get_data(as_text=True)
    assert 'data-practice="Y01234" data-active="yes"' in page
    empty = admin.post("/admin/gp-sharing", data={"csrf_token": token, "practice": "Y01234"})
    assert empty.status_code == 422 and "Authorised by" in empty.get_data(as_text=True)
    revoked = admin.post("/admin/gp-sharing/Y01234/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    page = admin.get("/admin/gp-sharing").get_data(as_text=True)
    assert 'data-practice="Y01234" data-active="no"' in page
    twice = admin.post("/admin/gp-sharing/Y01234/revoke", data={"csrf_token": token})
    assert twice.status_code == 409


def test_cli_import_and_sharing(runner, services, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("WARDBOARD_DATABASE_URL", settings.database_url)
    _patient(services, "JONES", NHS, "Y01234")
    _patient(services, "SMITH", OTHER_NHS, "Y09999")
    good = tmp_path / "drop.json"
    good.write_text(json.dumps([_doc(practice="Y01234")]))
    result = runner.invoke(cli, ["gp", "synopsis", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "1 stored, 0 refused" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([_doc(practice="Y01234"), _doc(practice="Y01234", allergies="x")]))
    result = runner.invoke(cli, ["gp", "synopsis", "import", str(bad)])
    assert result.exit_code == 1
    assert "synopsis 2 of 2" in result.output and "nothing was imported" in result.output
    assert "Traceback" not in result.output
    no_practice = tmp_path / "nopractice.json"
    no_practice.write_text(json.dumps(_doc()))
    result = runner.invoke(cli, ["gp", "synopsis", "import", str(no_practice)])
    assert result.exit_code == 1 and "practice is required" in result.output
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(_doc(practice="Y01234", nhs_number=OTHER_NHS)))
    result = runner.invoke(cli, ["gp", "synopsis", "import", str(wrong)])
    assert result.exit_code == 1 and "not registered with practice Y01234" in result.output
    assert _count(services, GpSynopsis) == 1

    result = runner.invoke(cli, ["gp", "sharing", "authorise", "Y01234", "--by", "Dr Patel"])
    assert result.exit_code == 0 and "sharing authorised" in result.output
    result = runner.invoke(cli, ["gp", "sharing", "authorise", "Y01234", "--by", "Dr Patel"])
    assert result.exit_code == 1 and "already shares" in result.output
    result = runner.invoke(cli, ["gp", "sharing", "list"])
    assert "Y01234" in result.output and "active" in result.output
    result = runner.invoke(cli, ["gp", "sharing", "revoke", "Y01234"])
    assert result.exit_code == 0 and "sharing revoked" in result.output


@pytest.mark.parametrize("path", ["/api/v1/gp/synopsis"])
def test_openapi_lists_the_gp_routes(client_as, path):
    paths = client_as("doctor").get("/api/v1/openapi.json").get_json()["paths"]
    assert path in paths
    assert "/api/v1/patients/{patient_id}/gp-synopsis" in paths
    assert "/api/v1/admin/gp-sharing" in paths


def test_a_synopsis_is_shown_for_the_survivor_of_an_hl7_merge(services):
    from tests.hl7_builder import adt

    assert ack_code(services.pipeline.receive(a31("M0", *SYNOPSIS_SEGMENTS), "test")) == "AA"
    merged_id = _patient_id(services)
    survivor = adt("A01", hospital_number="RM5", nhs_number=None, family="BROWN", given="Alice")
    survivor = survivor.replace(b"|19580312|M|", b"|19700101|F|")
    assert ack_code(services.pipeline.receive(survivor, "test")) == "AA"
    merge = adt("A40", hospital_number="RM5", nhs_number=None, family="BROWN", given="Alice")
    merge = merge.replace(b"|19580312|M|", b"|19700101|F|") + b"MRG|G1001^^^GP:Y01234^PI\r"
    ack = services.pipeline.receive(merge, "test")
    assert ack_code(ack) == "AA", ack
    with services.read_session() as s:
        survivor_id = s.scalars(select(Patient.id).where(Patient.family_name == "BROWN")).one()
        assert survivor_id != merged_id
        assert s.get_one(Patient, merged_id).merged_into_id == survivor_id
    services.bus.handle(
        AuthoriseGpSharing(
            services.clock.now(), practice="Y01234", authorised_by="Dr Patel", recorded_by="t"
        )
    )
    with services.read_session() as s:
        survivor = s.get_one(Patient, survivor_id)
        survivor.gp_practice_code = "Y01234"  # the survivor's own practice (not under test)
        shown = gp_record_for(s, survivor)
    assert shown["status"] == "shown"
    assert [a["substance"] for a in shown["synopsis"]["allergies"]] == ["Penicillin", "Peanuts"]


def test_a_clerks_merge_moves_the_synopsis_to_the_survivor_and_unmerge_back(services):
    from mpi.commands import MergePatients, UnmergePatients

    assert ack_code(services.pipeline.receive(a31("C0", *SYNOPSIS_SEGMENTS), "test")) == "AA"
    merged_id = _patient_id(services)
    survivor_id = _patient(services, "BROWN", "9990000026", "Y01234")
    now = services.clock.now()
    merge_id = services.bus.handle(MergePatients(now, survivor_id=survivor_id, merged_id=merged_id))
    with services.read_session() as s:
        assert s.scalars(select(GpSynopsis.patient_id)).one() == survivor_id
    services.bus.handle(UnmergePatients(now, merge_id=merge_id))
    with services.read_session() as s:
        assert s.scalars(select(GpSynopsis.patient_id)).one() == merged_id
