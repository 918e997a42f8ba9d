"""Signing on and off: card + PIN, lockout, rate limit, card reader, idle, audit, CLI."""

from __future__ import annotations

import json
import queue
import urllib.request
from datetime import timedelta

import pytest
import socketio
from sqlalchemy import select, text, update

from config.app import app_services, create_app
from config.cli import cli
from config.db import utcnow
from tests.auth_helpers import csrf_token, open_session, sign_on
from tests.board_socket import CONNECT_WAIT
from whiteboard.auth import accounts
from whiteboard.auth.audit_model import AuditEntry
from whiteboard.auth.models import SignOn, StaffUser


def _post_signon(client, card, pin):  # type: ignore[no-untyped-def]
    return client.post("/signon", data={"csrf_token": csrf_token(client), "card": card, "pin": pin})


def test_card_and_pin_sign_on_and_sign_off(app, make_staff):
    user = make_staff("doctor")
    client = app.test_client()
    response = sign_on(client, user.card, user.pin, workstation="w4-pc1", next_url="/wards/AMU")
    assert response.headers["Location"] == "/wards/AMU"
    assert client.get("/wards/AMU").status_code == 200
    client.post("/signoff", data={"csrf_token": csrf_token(client, "/")})
    assert client.get("/wards/AMU").status_code == 302


def test_next_must_be_a_local_path(app, make_staff):
    user = make_staff("nurse")
    client = app.test_client()
    response = sign_on(client, user.card, user.pin, next_url="//evil.example/")
    assert response.headers["Location"] == "/"


def test_wrong_pin_and_unknown_card_get_the_same_answer(app, make_staff):
    user = make_staff("nurse")
    client = app.test_client()
    wrong = _post_signon(client, user.card, "0000")
    unknown = _post_signon(client, "no-such-card", "0000")
    assert wrong.status_code == unknown.status_code == 401
    assert "not recognised" in wrong.get_data(as_text=True)
    assert "not recognised" in unknown.get_data(as_text=True)


def test_lockout_after_repeated_failures(app, services, make_staff):
    user = make_staff("nurse")
    client = app.test_client()
    for _ in range(services.settings.signon_max_failures):
        assert _post_signon(client, user.card, "0000").status_code == 401
    locked = _post_signon(client, user.card, user.pin)  # right PIN, but locked
    assert locked.status_code == 401 and "locked" in locked.get_data(as_text=True)
    with services.sessions() as db:
        db.execute(update(StaffUser).values(locked_until=utcnow() - timedelta(seconds=1)))
        db.commit()
    assert _post_signon(client, user.card, user.pin).status_code == 303


def test_rate_limit_per_client_address(settings, make_staff):
    app = create_app(settings=settings.replace(signon_rate_per_minute=3))
    try:
        client = app.test_client()
        codes = [_post_signon(client, "x", "1234").status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
    finally:
        app_services(app).stop()


def test_admin_password_sign_on(app, make_staff):
    make_staff("admin", username="root1", password="a-long-admin-password")
    client = app.test_client()
    bad = client.post(
        "/signon/password",
        data={"csrf_token": csrf_token(client), "username": "root1", "password": "nope"},
    )
    assert bad.status_code == 401
    good = client.post(
        "/signon/password",
        data={
            "csrf_token": csrf_token(client),
            "username": "root1",
            "password": "a-long-admin-password",
        },
    )
    assert good.status_code == 303
    assert client.get("/api/v1/audit").status_code == 200


def test_secrets_are_hashed(services, make_staff):
    user = make_staff("nurse", pin="8642")
    with services.sessions() as db:
        row = db.get(StaffUser, user.id)
        assert row.pin_hash.startswith("$argon2id$") and "8642" not in row.pin_hash


def test_idle_session_is_locked(app, services, make_staff):
    user = make_staff("nurse")
    client = app.test_client()
    sign_on(client, user.card, user.pin)
    assert client.get("/").status_code == 200
    with services.sessions() as db:
        db.execute(
            update(SignOn).values(
                last_seen_at=utcnow() - timedelta(seconds=services.settings.idle_lock_seconds + 5)
            )
        )
        db.commit()
    assert client.get("/").status_code == 302
    with services.sessions() as db:
        assert db.scalars(select(SignOn.end_reason)).one() == "idle"


def _workstation(services, name="w4-pc1") -> str:  # type: ignore[no-untyped-def]
    with services.uow_factory() as uow:
        _ws, secret = accounts.add_workstation(uow.session, name)
        uow.commit()
    return secret


def _reader(live_server, name, secret, body):  # type: ignore[no-untyped-def]
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/card-reader",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Workstation {name}:{secret}",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_card_reader_needs_the_workstation_secret(live_server):
    _workstation(live_server.services)
    status, body = _reader(live_server, "w4-pc1", "wrong", {"event": "removed", "card": "1"})
    assert status == 401 and body["status"] == 401


def test_card_removal_blanks_every_screen_of_that_session(live_server, app, make_staff):
    services = live_server.services
    secret = _workstation(services)
    user = make_staff("nurse")
    status, body = _reader(
        live_server, "w4-pc1", secret, {"event": "inserted", "card": user.card, "pin": user.pin}
    )
    assert status == 201
    # The agent opens the one-time link in the workstation's browser.
    browser = app.test_client()
    assert browser.get(body["signon_url"]).status_code == 303
    assert browser.get("/").status_code == 200
    assert app.test_client().get(body["signon_url"]).status_code == 401  # used once only

    # Two screens of the same sign-on: a session socket and a board socket.
    token = open_session(services, user, workstation="w4-pc1")
    ended: queue.Queue = queue.Queue()
    screens = []
    for namespace in ("/session", "/board"):
        c = socketio.Client(reconnection=False)
        c.on("session_ended", lambda data, ns=namespace: ended.put((ns, data)), namespace=namespace)
        c.connect(
            live_server.url,
            namespaces=[namespace],
            transports=["websocket"],
            auth={"signon": token},
            wait_timeout=CONNECT_WAIT,
        )
        screens.append(c)
    other = make_staff("doctor")
    other_token = open_session(services, other, workstation="w4-pc1")
    bystander = socketio.Client(reconnection=False)
    bystander.on("session_ended", lambda data: ended.put(("bystander", data)), namespace="/session")
    bystander.connect(
        live_server.url,
        namespaces=["/session"],
        transports=["websocket"],
        auth={"signon": other_token},
        wait_timeout=CONNECT_WAIT,
    )
    try:
        status, body = _reader(
            live_server, "w4-pc1", secret, {"event": "removed", "card": user.card}
        )
        assert status == 200 and body["ended"] == 2
        got = {ended.get(timeout=10)[0], ended.get(timeout=10)[0]}
        assert got == {"/session", "/board"}
        assert browser.get("/").status_code == 302  # the browser session ended too
        assert ended.empty()  # the other user's screen was left alone
    finally:
        for c in [*screens, bystander]:
            c.disconnect()


def test_views_are_audited_in_a_verifiable_chain(app, services, make_staff):
    from mpi.models import Patient

    with services.uow_factory() as uow:
        p = Patient(family_name="AUDITED", given_names="Ann")
        uow.session.add(p)
        uow.session.flush()
        pid = p.id
        uow.commit()
    nurse = make_staff("nurse")
    client = app.test_client()
    sign_on(client, nurse.card, nurse.pin, workstation="w4-pc1")
    assert client.get(f"/api/v1/patients/{pid}").status_code == 200
    assert client.get(f"/patients/{pid}").status_code == 200

    manager = make_staff("manager")
    mclient = app.test_client()
    sign_on(mclient, manager.card, manager.pin)
    entries = mclient.get(f"/api/v1/audit?patient={pid}").get_json()["entries"]
    assert [(e["actor"], e["action"], e["workstation"]) for e in entries] == [
        (nurse.username, "patient.view", "w4-pc1")
    ] * 2
    by_staff = mclient.get(f"/api/v1/audit?staff={nurse.username}").get_json()["entries"]
    assert {e["action"] for e in by_staff} == {"patient.view", "signon"}
    assert mclient.get("/api/v1/audit?patient=1%20OR%201=1").status_code == 400
    assert mclient.get("/api/v1/audit/verify").get_json()["ok"] is True
    page = mclient.get(f"/audit?patient={pid}").get_data(as_text=True)
    assert nurse.username in page


def test_audit_log_is_append_only_and_tamper_evident(services):
    for i in range(3):
        services.audit.record("patient.view", actor=f"u{i}", role="nurse", patient_id=i)
    assert services.audit.verify().ok
    dialect = services.engine.dialect.name
    with services.engine.connect() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute(text("UPDATE audit_entry SET actor = 'someone-else' WHERE id = 2"))
    with services.engine.begin() as conn:  # an attacker with DDL rights disables the guard
        if dialect == "postgresql":
            conn.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_change"))
        else:
            conn.execute(text("DROP TRIGGER audit_entry_no_update"))
        conn.execute(text("UPDATE audit_entry SET actor = 'someone-else' WHERE id = 2"))
        if dialect == "postgresql":
            conn.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_no_change"))
    check = services.audit.verify()
    assert not check.ok and check.first_bad_id == 2
    with services.sessions() as db:
        assert (
            db.scalars(select(AuditEntry.actor).where(AuditEntry.id == 2)).one() == "someone-else"
        )


def test_users_cli(runner, database_url, monkeypatch, app):
    monkeypatch.setenv("WARDBOARD_DATABASE_URL", database_url)
    ok = runner.invoke(
        cli, ["users", "add", "jsmith", "--role", "nurse", "--card", "4242", "--pin", "1357"]
    )
    assert ok.exit_code == 0, ok.output
    dup = runner.invoke(
        cli, ["users", "add", "jsmith", "--role", "nurse", "--card", "4243", "--pin", "1357"]
    )
    assert dup.exit_code == 1 and "already exists" in dup.output and "Traceback" not in dup.output
    gp = runner.invoke(
        cli, ["users", "add", "drgp", "--role", "gp", "--card", "1", "--pin", "1111"]
    )
    assert gp.exit_code == 1 and "--practice" in gp.output
    short = runner.invoke(cli, ["users", "add", "a1", "--role", "admin", "--password", "short"])
    assert short.exit_code == 1 and "12 characters" in short.output
    kiosk = runner.invoke(cli, ["users", "kiosk", "add", "AMU"])
    assert kiosk.exit_code == 0 and "/wards/AMU?kiosk=" in kiosk.output
    assert runner.invoke(cli, ["users", "kiosk", "add", "NOPE"]).exit_code == 1
    ws = runner.invoke(cli, ["users", "workstation", "add", "pc1"])
    assert ws.exit_code == 0 and "Workstation pc1:" in ws.output
    listing = runner.invoke(cli, ["users", "list"])
    assert "jsmith" in listing.output and "nurse" in listing.output
    assert runner.invoke(cli, ["users", "disable", "jsmith"]).exit_code == 0
    assert "DISABLED" in runner.invoke(cli, ["users", "list"]).output


def test_changes_to_a_record_are_audited_with_the_change(services):
    from tests.hl7_builder import adt

    services.pipeline.receive(adt("A01", family="CHANGED", location="AMU^A^A1"))
    services.pipeline.receive(adt("A02", location="W4^A^A1", control_id="T1"))
    entries = services.audit.search(actor="hl7")
    assert [e["action"] for e in reversed(entries)] == [
        "record.PatientAdmitted",
        "record.PatientTransferred",
    ]
    assert entries[0]["patient_id"] == entries[1]["patient_id"] is not None
    assert '"from_ward": "AMU"' in entries[0]["detail"]
    assert services.audit.verify().ok


def test_sign_on_over_https_sets_a_secure_cookie(settings, make_staff):
    app = create_app(settings=settings.replace(cookie_secure=True))
    try:
        user = make_staff("nurse")
        client = app.test_client()
        base = "https://wardboard.test"
        page = client.get("/signon", base_url=base).get_data(as_text=True)
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        response = client.post(
            "/signon",
            base_url=base,
            data={"csrf_token": token, "card": user.card, "pin": user.pin},
            headers={"Referer": f"{base}/signon"},  # browsers send it: Referrer-Policy same-origin
        )
        assert response.status_code == 303
        cookie = next(
            c for c in response.headers.getlist("Set-Cookie") if c.startswith("wardboard_session=")
        )
        assert "Secure" in cookie and "HttpOnly" in cookie
    finally:
        app_services(app).stop()


def test_revoking_a_kiosk_or_disabling_a_user_drops_their_open_sockets(
    live_server, app, make_kiosk, make_staff
):
    from whiteboard.auth.models import KioskToken
    from whiteboard.web.events import recheck_sockets
    from whiteboard.web.socket import socketio as server_socketio

    services = live_server.services
    kiosk_token = make_kiosk("AMU")
    nurse = make_staff("nurse")
    keeper = make_staff("doctor")
    ended: queue.Queue = queue.Queue()
    clients = {}
    for name, auth in (
        ("kiosk", {"kiosk": kiosk_token}),
        ("nurse", {"signon": open_session(services, nurse)}),
        ("keeper", {"signon": open_session(services, keeper)}),
    ):
        c = socketio.Client(reconnection=False)
        c.on("session_ended", lambda data, n=name: ended.put(n), namespace="/board")
        c.connect(
            live_server.url,
            namespaces=["/board"],
            transports=["websocket"],
            auth=auth,
            wait_timeout=CONNECT_WAIT,
        )
        clients[name] = c
    try:
        with app.app_context():
            assert recheck_sockets(server_socketio) == 0
        with services.uow_factory() as uow:
            kiosk_id = uow.session.scalars(select(KioskToken.id)).one()
            accounts.revoke_kiosk(uow.session, kiosk_id, utcnow())
            accounts.set_active(uow.session, nurse.username, False, utcnow())
            uow.commit()
        with app.app_context():
            assert recheck_sockets(server_socketio) == 2
        assert {ended.get(timeout=10), ended.get(timeout=10)} == {"kiosk", "nurse"}
        assert clients["keeper"].connected
    finally:
        for c in clients.values():
            c.disconnect()
