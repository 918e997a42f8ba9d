"""Pages, the JSON API, health and problem bodies."""

from tests.hl7_builder import adt


def test_healthz_reports_each_part(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert set(body) >= {"database", "mllp", "scheduler"}


def test_healthz_reports_the_listener_when_it_runs(live_server):
    import json
    import urllib.request

    with urllib.request.urlopen(f"{live_server.url}/healthz") as response:
        body = json.load(response)
    assert body["mllp"] == {
        "ok": True,
        "port": live_server.mllp.port,
        "connections": 0,
        "messages_received": 0,
        "tls": False,
    }
    assert "mllp_tls" not in body  # no second listener unless WARDBOARD_MLLP_TLS_PORT is set


def test_index_lists_wards(staff_client):
    page = staff_client.get("/").get_data(as_text=True)
    assert "Acute Medical Unit" in page and "/wards/AMU" in page


def test_board_page_and_snapshot(staff_client, services):
    services.pipeline.receive(adt("A01", family="<script>alert(1)</script>"))
    assert staff_client.get("/wards/AMU").status_code == 200
    snap = staff_client.get("/api/v1/wards/AMU/board").get_json()
    assert snap["ward"]["code"] == "AMU"
    assert snap["beds"] == {"total": 5, "occupied": 1, "free": 4, "cleaning": 0, "closed": 0}
    [p] = snap["patients"]
    assert p["display_name"] == "<SCRIPT>ALERT(1)</SCRIPT>, John"
    assert p["nhs_number"] == "999 000 0018"
    assert p["doctor"] == {"code": "C1234567", "name": "Dr A OKAFOR"}
    assert p["admitted_at"] == "2026-11-22T09:15:00+00:00"


def test_unknown_ward_is_a_problem_body(staff_client):
    response = staff_client.get("/api/v1/wards/NOPE/board")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404


def test_unknown_api_route_is_a_problem_body(staff_client):
    response = staff_client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_openapi_document(staff_client):
    doc = staff_client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/wards/{code}/board" in doc["paths"]
