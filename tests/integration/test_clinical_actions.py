"""Clinician actions through the API: commands, events, EDD gating and the alerts they clear,
on SQLite and PostgreSQL, with the services' clock frozen so time-based alerts are exact."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.auth_helpers import csrf_token, sign_on
from tests.hl7_builder import ack_code, adt
from whiteboard.models import Bed, Clinician, Stay, Ward

ADMITTED = datetime(2026, 11, 22, 9, 15, tzinfo=UTC)  # adt()'s default admit time (GMT)
DOCTOR = {"X-Wardboard-Actor": "C1234567"}
NURSE = {"X-Wardboard-Actor": "N0001", "X-Wardboard-Role": "nurse"}
MANAGER = {"X-Wardboard-Actor": "M0001", "X-Wardboard-Role": "manager"}


class SignedOnClients:
    """Sends each request as the member of staff its headers name, signed on for real.

    The headers only choose which test client (and so which signed-on session) carries the
    request; the server never reads them. No headers: an anonymous client.
    """

    def __init__(self, app, make_staff) -> None:
        self._app, self._make_staff = app, make_staff
        self._clients: dict[tuple[str, str], tuple[object, str]] = {}
        self.anonymous = app.test_client()

    def _client(self, headers: dict | None):
        if not headers:
            return self.anonymous, {}
        code = headers["X-Wardboard-Actor"]
        role = headers.get("X-Wardboard-Role", "doctor")
        role = "nurse" if role == "community" else role
        if (code, role) not in self._clients:
            user = self._make_staff(role, username=code)
            client = self._app.test_client()
            sign_on(client, user.card, user.pin)
            self._clients[(code, role)] = (client, csrf_token(client, "/wards/AMU"))
        client, token = self._clients[(code, role)]
        return client, {"X-CSRFToken": token}

    def _send(self, method: str, path: str, headers: dict | None = None, **kw):
        client, extra = self._client(headers)
        return getattr(client, method)(path, headers=extra, **kw)

    def get(self, path, headers=None, **kw):
        return self._send("get", path, headers, **kw)

    def post(self, path, headers=None, **kw):
        return self._send("post", path, headers, **kw)

    def put(self, path, headers=None, **kw):
        return self._send("put", path, headers, **kw)


@pytest.fixture
def client(app, make_staff):
    return SignedOnClients(app, make_staff)


@pytest.fixture
def clock(services):
    services.clock.freeze(ADMITTED + timedelta(minutes=45))
    return services.clock


def admit(services, trigger="A01", **kw) -> int:
    assert ack_code(services.pipeline.receive(adt(trigger, **kw), "test")) == "AA"
    with services.read_session() as s:
        return s.scalars(select(Stay.id).order_by(Stay.id.desc())).first()


def board(client, ward="AMU"):
    response = client.get(f"/api/v1/wards/{ward}/board", headers=NURSE)
    assert response.status_code == 200
    return response.get_json()


def alerts_of(snapshot, key):
    [patient] = [p for p in snapshot["patients"] if p["key"] == key]
    return {a["code"]: a for a in patient["alerts"]}


def set_edd(client, stay, edd, **extra):
    body = {"edd": edd.isoformat(), **extra}
    return client.put(f"/api/v1/stays/{stay}/discharge-plan", json=body, headers=DOCTOR)


def test_recording_a_vte_assessment_clears_the_red_alert(services, client, clock):
    stay = admit(services)
    assert alerts_of(board(client), f"s-{stay}")["vte"]["level"] == "amber"
    clock.advance(timedelta(hours=14))  # 14 h 45 m after admission: overdue
    assert alerts_of(board(client), f"s-{stay}")["vte"]["level"] == "red"

    response = client.post(f"/api/v1/stays/{stay}/vte-assessments", json={}, headers=NURSE)
    assert response.status_code == 201, response.get_json()
    assert "vte" not in alerts_of(board(client), f"s-{stay}")
    panel = client.get(f"/api/v1/stays/{stay}", headers=NURSE).get_json()
    assert panel["vte_assessed_at"] == clock.now().isoformat()


def test_observations_are_scored_with_news2_and_shown_with_the_band(services, client, clock):
    stay = admit(services)
    obs = {
        "respiration_rate": 25,  # 3
        "spo2": 95,  # 1
        "on_oxygen": False,  # 0
        "systolic_bp": 120,  # 0
        "pulse": 95,  # 1
        "consciousness": "A",  # 0
        "temperature": 38.5,  # 1
    }
    response = client.post(f"/api/v1/stays/{stay}/observations", json=obs, headers=NURSE)
    assert response.status_code == 201, response.get_json()
    [patient] = board(client)["patients"]
    assert patient["news2"]["total"] == 6 and patient["news2"]["band"] == "medium"
    assert alerts_of(board(client), f"s-{stay}")["news2"]["level"] in ("amber", "red")
    bad = client.post(
        f"/api/v1/stays/{stay}/observations", json={"consciousness": "Z"}, headers=NURSE
    )
    assert bad.status_code == 422 and "consciousness" in bad.get_json()["detail"]


def test_edd_gating_refuses_a_doctor_and_names_the_rule(services, client, clock):
    stay = admit(services)
    refused = client.post(
        f"/api/v1/stays/{stay}/referrals", json={"need": "physiotherapy"}, headers=DOCTOR
    )
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["rule"] == "edd-gating" and "no EDD" in body["detail"]
    assert refused.mimetype == "application/problem+json"
    refused = client.put(
        f"/api/v1/stays/{stay}/criteria-to-reside", json={"codes": ["IV"]}, headers=DOCTOR
    )
    assert refused.status_code == 409

    assert set_edd(client, stay, date(2026, 11, 26)).status_code == 200
    made = client.post(
        f"/api/v1/stays/{stay}/referrals", json={"need": "physiotherapy"}, headers=DOCTOR
    )
    assert made.status_code == 201, made.get_json()

    clock.advance(timedelta(hours=24, minutes=1))  # review lapsed
    refused = client.put(
        f"/api/v1/stays/{stay}/criteria-to-reside", json={"codes": ["IV"]}, headers=DOCTOR
    )
    assert refused.status_code == 409 and "not been reviewed" in refused.get_json()["detail"]
    # A nurse's action is not gated; reviewing the EDD (same date) lifts the gate.
    assert set_edd(client, stay, date(2026, 11, 26)).status_code == 200
    ok = client.put(
        f"/api/v1/stays/{stay}/criteria-to-reside", json={"codes": ["IV", "O2"]}, headers=DOCTOR
    )
    assert ok.status_code == 200
    assert board(client)["patients"][0]["criteria_to_reside"] == ["IV", "O2"]

    clock.freeze(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))  # the EDD is now in the past
    refused = client.post(f"/api/v1/stays/{stay}/vte-assessments", json={}, headers=DOCTOR)
    assert refused.status_code == 409 and "in the past" in refused.get_json()["detail"]
    assert alerts_of(board(client), f"s-{stay}")["edd"]["label"] == "EDD past"


def test_post_discharge_needs_create_community_tasks_due_before_the_edd(services, client, clock):
    stay = admit(services)
    response = set_edd(
        client,
        stay,
        date(2026, 11, 25),
        edd_time="11:00",
        pathway=1,
        discharge_criteria="Mobile with frame",
        post_discharge_needs=["physiotherapy", "district_nursing"],
    )
    assert response.status_code == 200, response.get_json()
    worklist = client.get("/api/v1/referrals/worklist", headers=NURSE).get_json()["items"]
    assert {i["need"] for i in worklist} == {"physiotherapy", "district_nursing"}
    # Due 24 h before the expected discharge (11:00 GMT on the EDD).
    assert {i["due_at"] for i in worklist} == {"2026-11-24T11:00:00+00:00"}
    assert {i["level"] for i in worklist} == {"amber"}

    clock.freeze(datetime(2026, 11, 24, 11, 1, tzinfo=UTC))  # past due, nobody picked it up
    assert alerts_of(board(client), f"s-{stay}")["referral"]["level"] == "red"
    worklist = client.get("/api/v1/referrals/worklist", headers=NURSE).get_json()["items"]
    assert {i["level"] for i in worklist} == {"red"}
    for item in worklist:
        picked = client.post(
            f"/api/v1/referrals/{item['id']}/pick-up",
            headers={"X-Wardboard-Actor": "COMM1", "X-Wardboard-Role": "community"},
        )
        assert picked.status_code == 200
    assert client.get("/api/v1/referrals/worklist", headers=NURSE).get_json()["items"] == []
    assert "referral" not in alerts_of(board(client), f"s-{stay}")
    panel = client.get(f"/api/v1/stays/{stay}", headers=NURSE).get_json()
    assert panel["plan"]["pathway"] == 1 and panel["plan"]["edd_time"] == "11:00"
    assert all(r["picked_up_at"] for r in panel["referrals"])


def test_beds_due_free_today_and_tomorrow_from_the_edd(services, client, clock):
    first = admit(services)
    # A different person (the MPI would rightly take a same-name, same-birthday, same-address
    # record for the first patient).
    second = admit(
        services,
        hospital_number="RM3000002",
        nhs_number=None,
        family="SMITH",
        given="Mary",
        dob="19901107",
        sex="F",
        location="AMU^A^A2",
        visit="V0002",
    )
    assert set_edd(client, first, date(2026, 11, 22), edd_time="16:00").status_code == 200
    assert set_edd(client, second, date(2026, 11, 23)).status_code == 200
    due = board(client)["beds_due_free"]
    assert [(d["bed"], d["expected_time"]) for d in due["today"]] == [("A1", "16:00")]
    assert [d["bed"] for d in due["tomorrow"]] == ["A2"]


def test_a_and_e_breach_is_attributed_to_the_doctor_responsible_then(services, client, clock):
    with services.uow_factory() as uow:
        uow.session.add(Clinician(code="D2", family_name="Patel", given_names="Ravi"))
        uow.commit()
    stay = admit(services, "A04", patient_class="E", location="AE^MAJ^M1", visit="E0001")
    handover = (ADMITTED + timedelta(hours=1)).isoformat()
    response = client.put(
        f"/api/v1/stays/{stay}/responsible-clinician",
        json={"clinician": "D2", "from_time": handover},
        headers=DOCTOR,
    )
    assert response.status_code == 200, response.get_json()
    dta = (ADMITTED + timedelta(minutes=30)).isoformat()
    assert (
        client.post(
            f"/api/v1/stays/{stay}/decision-to-admit", json={"decided_at": dta}, headers=DOCTOR
        ).status_code
        == 200
    )

    assert alerts_of(board(client, "AE"), f"s-{stay}") == {}  # within 3 h: the clock only
    clock.freeze(ADMITTED + timedelta(hours=3, minutes=1))
    assert alerts_of(board(client, "AE"), f"s-{stay}")["ae_4h"]["level"] == "red"
    clock.freeze(ADMITTED + timedelta(hours=4, minutes=1))
    snap = board(client, "AE")
    alert = alerts_of(snap, f"s-{stay}")["ae_4h"]
    assert alert["level"] == "purple" and alert["responsible"]["code"] == "D2"
    [item] = snap["breaches"]["items"]
    assert item["code"] == "ae_4h" and item["responsible"]["name"] == "Dr R Patel"
    assert item["in_department"] is True

    clock.freeze(ADMITTED + timedelta(hours=12, minutes=31))  # both 12-hour clocks
    snap = board(client, "AE")
    codes = alerts_of(snap, f"s-{stay}")
    assert codes["trolley_12h"]["level"] == "purple" and codes["ae_12h"]["level"] == "purple"
    assert snap["patients"][0]["decision_to_admit_at"] == dta


def test_marking_a_bed_cleaned_is_the_same_command_as_hl7(services, client, clock):
    admit(services)
    services.pipeline.receive(adt("A03", discharge_time="20261122100000"), "test")
    with services.read_session() as s:
        ward = s.scalars(select(Ward).where(Ward.code == "AMU")).one()
        bed = s.scalars(select(Bed).where(Bed.ward_id == ward.id, Bed.code == "A1")).one()
        assert bed.status == "H"
    response = client.post("/api/v1/wards/AMU/beds/A1/cleaned", headers=NURSE)
    assert response.status_code == 200
    beds = {b["code"]: b["status"] for bay in board(client)["bays"] for b in bay["beds"]}
    assert beds["A1"] == "U"
    assert client.post("/api/v1/wards/AMU/beds/ZZ/cleaned", headers=NURSE).status_code == 422


def test_a_booked_outpatient_shows_as_visiting_on_the_day(services, client, clock):
    admit(services)
    with services.read_session() as s:
        patient_id = s.scalars(select(Stay.patient_id)).first()
    body = {
        "patient_id": patient_id,
        "ward": "W4",
        "visit_date": "2026-11-22",
        "visit_time": "14:30",
    }
    assert client.post("/api/v1/outpatient-bookings", json=body, headers=NURSE).status_code == 201
    [visitor] = board(client, "W4")["patients"]
    assert visitor["status"] == "outpatient" and visitor["visit_time"] == "14:30"
    tomorrow = {**body, "visit_date": "2026-11-23", "ward": "AMU"}
    assert (
        client.post("/api/v1/outpatient-bookings", json=tomorrow, headers=NURSE).status_code == 201
    )
    assert [p["status"] for p in board(client)["patients"]] == ["inpatient"]


def test_bad_requests_get_problems_not_tracebacks(services, client, clock):
    stay = admit(services)
    assert client.post(f"/api/v1/stays/{stay}/vte-assessments", json={}).status_code == 401
    bad = set_edd(client, stay, date(2026, 11, 25), pathway=5)
    assert bad.status_code == 422 and "pathway" in bad.get_json()["detail"]
    bad = client.put(
        f"/api/v1/stays/{stay}/discharge-plan", json={"edd": "next week"}, headers=DOCTOR
    )
    assert bad.status_code == 422 and "edd" in bad.get_json()["detail"]
    bad = client.post(f"/api/v1/stays/{stay}/observations", json={"pulse": "fast"}, headers=NURSE)
    assert bad.status_code == 422 and "pulse" in bad.get_json()["detail"]
    assert (
        client.post("/api/v1/stays/99999/vte-assessments", json={}, headers=NURSE).status_code
        == 404
    )
    bad = client.post(f"/api/v1/stays/{stay}/decision-to-admit", json={}, headers=DOCTOR)
    assert bad.status_code == 422  # an inpatient stay has no decision to admit to record


def test_periodic_repush_sends_only_wards_whose_alerts_changed(services, client, clock):
    stay = admit(services, "A04", patient_class="E", location="AE^MAJ^M1", visit="E0001")
    # The push worker records the alerts it pushes too; stopped, so that a push of the
    # admission still in flight cannot record between the calls this test compares.
    services.publisher.stop()
    services.publisher.repush_changed_alerts()  # learn the current state
    assert services.publisher.repush_changed_alerts() == []
    clock.freeze(ADMITTED + timedelta(hours=3, minutes=1))
    assert services.publisher.repush_changed_alerts() == ["AE"]
    assert services.publisher.repush_changed_alerts() == []
    assert alerts_of(board(client, "AE"), f"s-{stay}")["ae_4h"]["level"] == "red"


def test_workload_counts_patients_and_open_alerts_per_doctor(services, client, clock):
    admit(services)
    clock.advance(timedelta(hours=14))  # the VTE assessment is now overdue
    assert client.get("/api/v1/workload").status_code == 401
    assert client.get("/api/v1/workload", headers=NURSE).status_code == 403
    body = client.get("/api/v1/workload", headers=MANAGER).get_json()
    [doctor] = body["doctors"]
    assert doctor["code"] == "C1234567" and doctor["patients"] == 1
    assert doctor["with_alerts"] == 1 and doctor["wards"] == ["AMU"]


def test_openapi_lists_the_clinician_routes(client):
    paths = client.get("/api/v1/openapi.json", headers=NURSE).get_json()["paths"]
    assert "put" in paths["/api/v1/stays/{stay_id}/discharge-plan"]
    assert "409" in paths["/api/v1/stays/{stay_id}/referrals"]["post"]["responses"]
    order = paths["/api/v1/patients/{patient_id}/orders"]["post"]
    assert {"201", "403", "404", "422"} <= set(order["responses"])
    schema = order["requestBody"]["content"]["application/json"]["schema"]
    assert "XRCHE" in schema["properties"]["test"]["enum"] and schema["required"] == ["test"]


def test_a_set_entered_late_for_an_earlier_time_does_not_replace_the_latest(
    services, client, clock
):
    stay = admit(services)
    newer = {"respiration_rate": 25, "spo2": 97, "on_oxygen": False, "systolic_bp": 120}
    newer |= {"pulse": 80, "consciousness": "A", "temperature": 37.0}  # NEWS2 3
    assert (
        client.post(f"/api/v1/stays/{stay}/observations", json=newer, headers=NURSE).status_code
        == 201
    )
    earlier = {**newer, "respiration_rate": 16, "taken_at": ADMITTED.isoformat()}  # NEWS2 0
    assert (
        client.post(f"/api/v1/stays/{stay}/observations", json=earlier, headers=NURSE).status_code
        == 201
    )
    [patient] = board(client)["patients"]
    assert patient["news2"]["total"] == 3
