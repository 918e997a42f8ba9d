"""Who may reach what: the route scan, the permission matrix, scoping, kiosks, hostile input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import socketio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from mpi.models import Patient
from tests.auth_helpers import csrf_token, sign_on
from whiteboard.auth import policy, roles
from whiteboard.web.socket import socketio as server_socketio

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = {
    "static",
    "mpi_pages.static",
    "health.healthz",
    "auth.signon",
    "auth.signon_password",
    "auth.ticket",
}


def _url(rule) -> str:  # type: ignore[no-untyped-def]
    values = {}
    for arg, conv in rule._converters.items():
        kind = type(conv).__name__
        if kind == "AnyConverter":  # e.g. a chart's format: any(png, svg)
            values[arg] = sorted(conv.items)[0]
        else:
            values[arg] = 1 if kind == "IntegerConverter" else "AMU"
    if rule.endpoint == "static":
        values["filename"] = "board.js"
    return rule.build(values, append_unknown=False)[1]


def test_every_route_is_in_the_policy_and_refuses_an_anonymous_caller(app):
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        assert rule.endpoint in policy.ENDPOINTS, f"{rule.endpoint} is missing from the policy"
        public = policy.ENDPOINTS[rule.endpoint] == policy.PUBLIC
        assert public == (rule.endpoint in PUBLIC), rule.endpoint
        if public:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(_url(rule), method=method)
            checked += 1
            if response.status_code == 302:
                assert response.headers["Location"].startswith("/signon"), rule
            else:
                assert response.status_code == 401, (rule, method, response.status_code)
                assert response.mimetype == "application/problem+json"
    assert checked >= 12


def test_public_routes_answer_anonymously(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/signon").status_code == 200
    assert client.get("/static/board.js").status_code == 200


def test_every_socket_event_is_in_the_policy_and_refuses_an_anonymous_caller(live_server):
    handlers = server_socketio.server.handlers
    for namespace, events in handlers.items():
        for event in events:
            assert (namespace, event) in policy.SOCKET_EVENTS, (namespace, event)
    for namespace in {ns for ns, _ in policy.SOCKET_EVENTS}:
        client = socketio.Client(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(live_server.url, namespaces=[namespace], transports=["websocket"])
        client.disconnect()


def test_a_bad_token_on_a_socket_is_refused(live_server):
    for auth in ({"kiosk": "forged"}, {"signon": "forged"}):
        client = socketio.Client(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(
                live_server.url, namespaces=["/board"], transports=["websocket"], auth=auth
            )
        client.disconnect()


# The permission matrix, as a person would write it down (not derived from roles.MATRIX).
REQUESTS = (
    "/",
    "/wards/AMU",
    "/api/v1/wards/AMU/board",
    "/api/v1/patients?q=zz",
    "/api/v1/audit",
    "/api/v1/openapi.json",
)
EXPECTED = {
    "nurse": (200, 200, 200, 200, 403, 200),
    "doctor": (200, 200, 200, 200, 403, 200),
    "consultant": (200, 200, 200, 200, 403, 200),
    "records_clerk": (200, 200, 200, 200, 403, 200),
    "manager": (200, 200, 200, 200, 200, 200),
    "gp": (403, 403, 403, 200, 403, 200),
    "admin": (200, 200, 200, 403, 200, 200),
    "kiosk": (403, 200, 200, 403, 403, 403),
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_permission_matrix(app, make_staff, make_kiosk, role):
    client = app.test_client()
    if role == "kiosk":
        client.get(f"/wards/AMU?kiosk={make_kiosk('AMU')}")
    else:
        user = make_staff(role)
        sign_on(client, user.card, user.pin)
    got = tuple(client.get(path).status_code for path in REQUESTS)
    assert got == EXPECTED[role]


def test_security_doc_shows_the_matrix_in_force():
    doc = (ROOT / "docs" / "SECURITY.md").read_text(encoding="utf-8")
    assert roles.matrix_markdown() in doc


def test_kiosk_sees_only_its_ward_and_cannot_act(kiosk_client):
    assert kiosk_client.get("/api/v1/wards/W4/board").status_code == 403
    assert kiosk_client.get("/wards/W4").status_code == 403
    assert kiosk_client.get("/api/v1/wards").status_code == 403
    assert kiosk_client.get("/patients").status_code == 403
    assert kiosk_client.post("/signoff").status_code in (400, 403)  # no action for a kiosk


def test_revoked_kiosk_stops_at_its_next_request(app, services, make_kiosk):
    from config.db import utcnow
    from whiteboard.auth import accounts
    from whiteboard.auth.models import KioskToken

    token = make_kiosk("AMU")
    client = app.test_client()
    client.get(f"/wards/AMU?kiosk={token}")
    assert client.get("/api/v1/wards/AMU/board").status_code == 200
    with services.sessions() as db:
        kiosk_id = db.scalars(select(KioskToken.id)).one()
        accounts.revoke_kiosk(db, kiosk_id, utcnow())
        db.commit()
    assert client.get("/api/v1/wards/AMU/board").status_code == 401


def _patient(services, family: str, practice: str | None, nhs: str | None = None) -> int:
    with services.uow_factory() as uow:
        p = Patient(
            family_name=family, given_names="Ann", gp_practice_code=practice, nhs_number=nhs
        )
        uow.session.add(p)
        uow.session.flush()
        pid = p.id
        uow.commit()
    return pid


def test_gp_sees_own_practice_only_and_cannot_learn_others_exist(app, services, make_staff):
    own = _patient(services, "OWNPATIENT", "P1")
    other = _patient(services, "OTHERPATIENT", "P2")
    gp = make_staff("gp", practice="P1")
    client = app.test_client()
    sign_on(client, gp.card, gp.pin)
    assert client.get(f"/api/v1/patients/{own}").status_code == 200
    hidden = client.get(f"/api/v1/patients/{other}")
    missing = client.get("/api/v1/patients/999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json() == missing.get_json()
    assert hidden.headers.get("Content-Length") == missing.headers.get("Content-Length")
    page_hidden = client.get(f"/patients/{other}")
    page_missing = client.get("/patients/999999")
    assert page_hidden.status_code == page_missing.status_code == 404
    assert page_hidden.get_data() == page_missing.get_data()
    found = client.get("/api/v1/patients?q=OTHER").get_json()["patients"]
    assert found == []
    assert [p["id"] for p in client.get("/api/v1/patients?q=OWN").get_json()["patients"]] == [own]


def test_sql_metacharacters_in_the_search_box_are_just_text(staff_client, services):
    obrien = _patient(services, "O'Brien", None)
    _patient(services, "SMITH", None)
    for q in ("' OR 1=1 --", "%%", "__", "'; DROP TABLE patient; --", "\\%"):
        response = staff_client.get("/api/v1/patients", query_string={"q": q})
        assert response.status_code == 200
        assert response.get_json()["patients"] == [], q
    hits = staff_client.get("/api/v1/patients", query_string={"q": "O'Brien"}).get_json()
    assert [p["id"] for p in hits["patients"]] == [obrien]
    page = staff_client.get("/patients", query_string={"q": "O'Brien"}).get_data(as_text=True)
    assert "O&#39;BRIEN" in page or "O&#x27;BRIEN" in page


def test_forged_or_missing_csrf_token_is_refused(staff_client, app, make_staff):
    assert staff_client.post("/signoff").status_code == 400
    assert staff_client.post("/signoff", data={"csrf_token": "forged"}).status_code == 400
    assert staff_client.get("/").status_code == 200  # still signed on
    user = make_staff("nurse")
    fresh = app.test_client()
    response = fresh.post("/signon", data={"card": user.card, "pin": user.pin})
    assert response.status_code == 400
    good = csrf_token(staff_client, "/")
    assert staff_client.post("/signoff", data={"csrf_token": good}).status_code == 303
    assert staff_client.get("/").status_code == 302


def test_oversized_bodies_are_refused(client, staff_client):
    big = "x" * 200_000
    assert client.post("/signon", data={"card": big}).status_code == 413
    response = client.post(
        "/api/v1/card-reader", data=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (401, 413)
    assert response.mimetype == "application/problem+json"


def test_pages_carry_security_headers(client):
    response = client.get("/signon")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert not re.search(r"<script>(?!</script>)", response.get_data(as_text=True))


def test_session_cookie_flags(app, make_staff):
    user = make_staff("nurse")
    client = app.test_client()
    response = sign_on(client, user.card, user.pin)
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("wardboard_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=st.text(max_size=120))
def test_any_search_text_is_answered_never_a_server_error(staff_client, q):
    response = staff_client.get("/api/v1/patients", query_string={"q": q})
    assert response.status_code == 200
    assert isinstance(response.get_json()["patients"], list)
