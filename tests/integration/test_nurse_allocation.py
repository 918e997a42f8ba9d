"""Nurse allocation (the nurse in charge gives nurses bays and beds per shift) and the
managers' workload view built on it, through the HTTP API and the pages, signed on for real,
on SQLite and PostgreSQL with the services' clock frozen (Sunday 22 Nov 2026, 10:00 GMT: the
day shift, 07:30 to 19:30)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.auth_helpers import csrf_token, sign_on
from tests.integration.test_clinical_actions import ADMITTED, MANAGER, NURSE, SignedOnClients
from tests.integration.test_clinical_actions import admit as admit_stay

DOCTOR = {"X-Wardboard-Actor": "C1234567"}
URL = "/api/v1/wards/AMU/nurse-allocation"


@pytest.fixture
def client(app, make_staff):
    return SignedOnClients(app, make_staff)


@pytest.fixture
def clock(services):
    services.clock.freeze(ADMITTED + timedelta(minutes=45))
    return services.clock


@pytest.fixture
def nurses(make_staff):
    """Two ward nurses to allocate (usernames), and a doctor who is not one."""
    make_staff("doctor", username="dr_not_a_nurse")
    return make_staff("nurse", username="rn_amy"), make_staff("nurse", username="rn_ben")


def admit(services, bed: str, number: str) -> int:
    """A different patient (name, birth date, numbers) into AMU ``bed``."""
    bay = bed.rstrip("0123456789")
    return admit_stay(
        services,
        location=f"AMU^{bay}^{bed}",
        hospital_number=number,
        nhs_number=None,
        family=("ADEBAYO", "BROWN", "CHEN", "DAVIES", "EVANS")[int(number[-1]) % 5],
        given=("Ada", "Bill", "Chi", "Dai", "Eve")[int(number[-1]) % 5],
        dob=f"19{30 + 9 * (int(number[-1]) % 5)}0{1 + int(number[-1]) % 5}15",
        sex="MF"[int(number[-1]) % 2],
        visit=f"V{number}",
    )


def test_nurse_in_charge_sets_then_replaces_the_shifts_allocation(services, client, clock, nurses):
    assert client.get(URL, headers=NURSE).get_json()["nurses"] == []  # nothing set yet
    body = {
        "nurse_in_charge": "N0001",
        "nurses": [
            {"nurse": "rn_amy", "bays": ["A"]},
            {"nurse": "rn_ben", "bays": ["SR"], "beds": ["A4"]},
        ],
    }
    client.get(URL, headers=NURSE)  # signs N0001 on (a nurse) before naming them in charge
    response = client.put(URL, json=body, headers=NURSE)
    assert response.status_code == 200, response.get_json()
    first = response.get_json()
    assert (first["date"], first["shift"]) == ("2026-11-22", "day")

    got = client.get(URL, headers=NURSE).get_json()
    assert got["nurse_in_charge"]["username"] == "N0001"
    assert got["set_by"] == "N0001"
    assert [(n["nurse"], n["bays"], n["beds"]) for n in got["nurses"]] == [
        ("rn_amy", ["A"], []),
        ("rn_ben", ["SR"], ["A4"]),
    ]
    assert got["unallocated_bays"] == []

    # The ward manager replaces it: what is not listed is no longer allocated.
    replaced = {"nurses": [{"nurse": "rn_ben", "bays": ["A"]}]}
    response = client.put(URL, json=replaced, headers=MANAGER)
    assert response.status_code == 200
    assert response.get_json()["id"] == first["id"]  # the same shift's allocation, replaced
    got = client.get(URL, headers=MANAGER).get_json()
    assert [(n["nurse"], n["bays"], n["beds"]) for n in got["nurses"]] == [("rn_ben", ["A"], [])]
    assert got["nurse_in_charge"] is None and got["set_by"] == "M0001"
    assert got["unallocated_bays"] == ["SR"]

    actions = [(e["actor"], e["action"]) for e in services.audit.search(limit=50)]
    assert ("N0001", "nurse_allocation.set") in actions
    assert ("M0001", "nurse_allocation.set") in actions


def test_an_empty_list_clears_the_allocation_on_purpose(client, clock, nurses):
    body = {"nurses": [{"nurse": "rn_amy", "bays": ["A"]}]}
    assert client.put(URL, json=body, headers=NURSE).status_code == 200
    assert client.put(URL, json={"nurses": []}, headers=NURSE).status_code == 200
    got = client.get(URL, headers=NURSE).get_json()
    assert got["nurses"] == [] and got["unallocated_bays"] == ["A", "SR"]


def test_the_next_shift_can_be_set_ahead_and_is_separate(client, clock, nurses):
    night = {"date": "2026-11-22", "shift": "night", "nurses": [{"nurse": "rn_amy", "bays": ["A"]}]}
    assert client.put(URL, json=night, headers=NURSE).status_code == 200
    assert client.get(URL, headers=NURSE).get_json()["nurses"] == []  # the day shift: unset
    got = client.get(URL + "?date=2026-11-22&shift=night", headers=NURSE).get_json()
    assert got["nurses"][0]["nurse"] == "rn_amy"
    assert got["starts_at"] == "2026-11-22T19:30:00+00:00"
    assert got["ends_at"] == "2026-11-23T07:30:00+00:00"


def test_allocation_refused_for_roles_without_permission(client, clock, nurses):
    body = {"nurses": [{"nurse": "rn_amy", "bays": ["A"]}]}
    assert client.put(URL, json=body).status_code == 401
    refused = client.put(URL, json=body, headers=DOCTOR)
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    assert client.get(URL, headers=DOCTOR).status_code == 403
    assert client.get(URL, headers=NURSE).get_json()["nurses"] == []  # nothing was stored


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ([1, 2], 422, "JSON object"),
        ({"colour": "blue"}, 422, "unexpected field 'colour'"),
        ({"shift": "night", "nurses": []}, 422, "both date and shift"),
        ({"date": "2026-11-22", "shift": "late", "nurses": []}, 422, "shift must be one of"),
        ({"date": "22/11/2026", "shift": "day", "nurses": []}, 422, "date must be a date"),
        ({"date": "2026-11-21", "shift": "day", "nurses": []}, 422, "has ended"),
        ({"nurses": {"nurse": "rn_amy"}}, 422, "nurses must be a list"),
        ({"nurses": [{"bays": ["A"]}]}, 422, "nurses[0].nurse"),
        ({"nurses": [{"nurse": "rn_amy", "bays": "A"}]}, 422, "nurses[0].bays must be a list"),
        ({"nurses": [{"nurse": "rn_amy", "ward": "AMU"}]}, 422, "unexpected field 'ward'"),
        ({"nurses": [{"nurse": "nobody", "bays": ["A"]}]}, 422, "'nobody' is not an active nurse"),
        (
            {"nurses": [{"nurse": "dr_not_a_nurse", "bays": ["A"]}]},
            422,
            "'dr_not_a_nurse' is not an active nurse",
        ),
        ({"nurses": [{"nurse": "rn_amy", "bays": ["Z"]}]}, 422, "AMU has no bay 'Z'"),
        ({"nurses": [{"nurse": "rn_amy", "beds": ["Q9"]}]}, 422, "AMU has no bed 'Q9'"),
        ({"nurses": [{"nurse": "rn_amy"}]}, 422, "has no bays or beds"),
        (
            {"nurses": [{"nurse": "rn_amy", "bays": ["A"]}, {"nurse": "rn_ben", "bays": ["A"]}]},
            422,
            "bay A is given to both rn_amy and rn_ben",
        ),
        (
            {"nurses": [{"nurse": "rn_amy", "bays": ["A"]}, {"nurse": "rn_amy", "bays": ["SR"]}]},
            422,
            "listed twice",
        ),
        (
            {"nurse_in_charge": "dr_not_a_nurse", "nurses": []},
            422,
            "nurse in charge 'dr_not_a_nurse'",
        ),
        ({}, 422, "nurses is required"),
    ],
)
def test_bad_allocations_are_refused_with_a_problem_naming_why(
    client, clock, nurses, body, status, says
):
    response = client.put(URL, json=body, headers=NURSE)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert says in response.get_json()["detail"]
    assert client.get(URL, headers=NURSE).get_json()["set_by"] is None  # nothing stored


def test_unknown_ward_is_404(client, clock, nurses):
    body = {"nurses": [{"nurse": "rn_amy", "bays": ["A"]}]}
    response = client.put("/api/v1/wards/NOPE/nurse-allocation", json=body, headers=NURSE)
    assert response.status_code == 404
    assert client.get("/api/v1/wards/NOPE/nurse-allocation", headers=NURSE).status_code == 404


def test_workload_counts_each_nurses_patients_and_open_alerts_by_level_and_kind(
    services, client, clock, nurses
):
    in_a = admit(services, "A1", "RM4000001")
    in_a2 = admit(services, "A2", "RM4000002")
    in_sr = admit(services, "SR1", "RM4000003")
    # Tonight's allocation, set during the day: Amy has bay A except A2, which Ben has on its
    # own (one-to-one care); the side room is nobody's.
    night = {
        "date": "2026-11-22",
        "shift": "night",
        "nurses": [
            {"nurse": "rn_amy", "bays": ["A"]},
            {"nurse": "rn_ben", "beds": ["A2"]},
        ],
    }
    assert client.put(URL, json=night, headers=NURSE).status_code == 200
    clock.advance(timedelta(hours=14))  # 00:00: the night shift; VTE assessments overdue

    body = client.get("/api/v1/workload", headers=MANAGER).get_json()
    assert body["shift"]["shift"] == "night" and body["shift"]["date"] == "2026-11-22"
    board = client.get("/api/v1/wards/AMU/board", headers=NURSE).get_json()
    open_alerts = {
        p["key"]: [a for a in p["alerts"] if a["level"] in ("amber", "red", "purple")]
        for p in board["patients"]
    }
    assert all(open_alerts[f"s-{s}"] for s in (in_a, in_a2, in_sr))  # each has an open alert

    def expected(stays: list[int]) -> dict:
        by_level: dict[str, int] = {}
        by_kind: dict[str, dict[str, int]] = {}
        for s in stays:
            for a in open_alerts[f"s-{s}"]:
                by_level[a["level"]] = by_level.get(a["level"], 0) + 1
                kind = by_kind.setdefault(a["code"], {})
                kind[a["level"]] = kind.get(a["level"], 0) + 1
        return {"total": sum(by_level.values()), "by_level": by_level, "by_kind": by_kind}

    nurses_by_name = {n["username"]: n for n in body["nurses"]}
    assert set(nurses_by_name) == {"rn_amy", "rn_ben", ""}
    amy, ben, nobody = nurses_by_name["rn_amy"], nurses_by_name["rn_ben"], nurses_by_name[""]
    assert (amy["patients"], amy["with_alerts"], amy["wards"]) == (1, 1, ["AMU"])
    assert (ben["patients"], ben["with_alerts"]) == (1, 1)  # A2 is Ben's, not the bay's
    assert (nobody["name"], nobody["patients"]) == ("Not allocated", 1)
    assert body["nurses"][-1]["username"] == ""  # the catch-all row comes last
    assert amy["alerts"] == expected([in_a])
    assert ben["alerts"] == expected([in_a2])
    assert "vte" in amy["alerts"]["by_kind"]

    [doctor] = body["doctors"]
    assert doctor["code"] == "C1234567" and doctor["patients"] == 3
    assert doctor["with_alerts"] == 3
    assert doctor["alerts"] == expected([in_a, in_a2, in_sr])

    amu = next(w for w in body["wards"] if w["code"] == "AMU")
    assert (amu["patients"], amu["with_alerts"]) == (3, 3)
    assert (amu["nurses"], amu["unallocated_patients"]) == (2, 1)


def test_the_form_sets_the_allocation_and_the_workload_page_shows_it(
    app, services, make_staff, clock, nurses
):
    admit(services, "A1", "RM4000011")
    nurse = make_staff("nurse", username="rn_charge")
    browser = app.test_client()
    sign_on(browser, nurse.card, nurse.pin)
    page = browser.get("/wards/AMU/allocation")
    assert page.status_code == 200 and b"Day shift Sun 22 Nov 2026" in page.data
    token = csrf_token(browser, "/wards/AMU/allocation")
    form = {
        "csrf_token": token,
        "date": "2026-11-22",
        "shift": "day",
        "in_charge": "rn_charge",
        "bay:A": "rn_amy",
        "bay:SR": "rn_amy",
        "bed_code_0": "A3",
        "bed_nurse_0": "rn_ben",
        "bed_code_1": "",
        "bed_nurse_1": "",
    }
    saved = browser.post("/wards/AMU/allocation", data=form)
    assert saved.status_code == 303
    shown = browser.get(saved.headers["Location"])
    assert b"Allocation saved." in shown.data and b"Last set by rn_charge" in shown.data

    # A half-filled single-bed row is refused with the reason, and nothing changes.
    bad = browser.post("/wards/AMU/allocation", data={**form, "bed_code_1": "A4"})
    assert bad.status_code == 422 and b"single bed row 2" in bad.data

    assert browser.get("/workload").status_code == 403  # nurses do not see the workload view
    manager = make_staff("manager")
    office = app.test_client()
    sign_on(office, manager.card, manager.pin)
    html = office.get("/workload").get_data(as_text=True)
    assert 'data-person="rn_amy"' in html and "Nurse" in html
    row = html.split('data-person="rn_amy"', 1)[1].split("</tr>", 1)[0]
    assert "<td>AMU</td><td>1</td>" in row  # one patient (A1) on Amy's bays
    chart = office.get("/workload/nurses.png")
    assert chart.status_code == 200 and chart.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert office.get("/workload/doctors.svg").mimetype == "image/svg+xml"


def test_openapi_describes_the_allocation_route(client):
    paths = client.get("/api/v1/openapi.json", headers=NURSE).get_json()["paths"]
    route = paths["/api/v1/wards/{code}/nurse-allocation"]
    assert {"200", "403", "404", "422"} <= set(route["put"]["responses"])
    schema = route["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"date", "shift", "nurse_in_charge", "nurses"}
    assert "get" in route and "nurse" in paths["/api/v1/workload"]["get"]["summary"]
