"""Flask and Socket.IO glue for the permission policy (whiteboard/auth/policy.py).

``enforce_request`` runs before every request and ``authorize_socket`` before every socket
event; both ask ``policy.decide`` and nothing else, so there is one place that says who may
reach what. Also here: who the caller is (session cookie or kiosk token), the security
headers on every response, and the sign-on rate limiter.
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, abort, g, redirect, request, session, url_for

from config.db import utcnow
from config.services import services
from whiteboard.auth import accounts, policy, roles
from whiteboard.auth.principal import Principal
from whiteboard.web.problems import problem

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # Flask-WTF checks the Referer on HTTPS
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def account_policy() -> accounts.Policy:
    s = services().settings
    return accounts.Policy(
        max_failures=s.signon_max_failures,
        lockout=timedelta(seconds=s.signon_lockout_seconds),
        idle=timedelta(seconds=s.idle_lock_seconds),
    )


def resolve_principal(creds: dict[str, Any]) -> Principal | None:
    """The principal for a staff session token or a kiosk token, checked against the database
    every time, so a revoked kiosk or an ended session stops at its next request."""
    signon_token = creds.get("signon")
    kiosk_token = creds.get("kiosk")
    if not isinstance(signon_token, str) and not isinstance(kiosk_token, str):
        return None
    svc = services()
    if not isinstance(signon_token, str):
        with svc.read_session() as db:
            return accounts.principal_for_kiosk(db, kiosk_token)  # type: ignore[arg-type]
    now = utcnow()
    with svc.read_session() as db:
        check = accounts.check_signon(db, signon_token, now, account_policy())
    if check.went_idle and check.signon_id is not None:
        with svc.uow_factory() as uow:
            ids = accounts.end_signons(uow.session, now, "idle", signon_id=check.signon_id)
            uow.commit()
        from whiteboard.web.socket import end_session_screens

        end_session_screens(ids, "idle")  # blank every screen of the session that went idle
    elif check.touch and check.signon_id is not None:
        with svc.uow_factory() as uow:
            accounts.touch_signon(uow.session, check.signon_id, now)
            uow.commit()
    return check.principal


SCRAPER = Principal(kind="service", role=roles.SCRAPER, name="metrics-scraper", display_name="")


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header (machines, not browsers), if any."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def resolve_bearer(token: str) -> Principal | None:
    """The monitoring scraper, for WARDBOARD_METRICS_TOKEN (compared in constant time).

    Its role holds only ``metrics.view``, so the policy keeps it to GET /metrics."""
    expected = services().settings.metrics_token
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        return SCRAPER
    return None


def current_principal() -> Principal | None:
    return g.get("principal")


def enforce_request() -> Response | None:
    if request.endpoint is None:
        return None  # no such route: Flask's own 404/405
    if "kiosk" in request.args and request.endpoint == "boards.board":
        return _adopt_kiosk_token(request.args["kiosk"])
    permission = policy.for_endpoint(request.endpoint)
    principal = None
    token = bearer_token()
    if permission not in (policy.PUBLIC, policy.WORKSTATION) or request.endpoint.startswith(
        "auth."
    ):
        # A bearer token (a machine) never falls back to the session cookie.
        principal = resolve_principal(dict(session)) if token is None else resolve_bearer(token)
    g.principal = principal
    ward = next(
        (str(request.view_args[a]) for a in policy.WARD_ARGS if a in (request.view_args or {})),
        None,
    )
    decision = policy.decide(permission, principal, ward)
    if decision.allowed:
        return None
    if principal is None and token is None and session:
        session.clear()  # an ended or revoked credential: forget it
    if token is not None or request.path.startswith("/api/") or request.method != "GET":
        title = {401: "Unauthorized", 403: "Forbidden"}.get(decision.status, "Not Found")
        if token is not None and decision.status == 401:
            response = problem(401, title, "wrong or unconfigured bearer token")
            response.headers["WWW-Authenticate"] = 'Bearer realm="wardboard"'
            return response
        return problem(decision.status, title, decision.reason)
    if decision.status == 401:
        return redirect(url_for("auth.signon", next=request.full_path.rstrip("?")))
    abort(decision.status)
    return None


def _adopt_kiosk_token(token: str) -> Response:
    """A wall board opened with ?kiosk=<token>: keep the token in the session cookie and drop
    it from the address, so it is not left in history or shown on the screen."""
    with services().read_session() as db:
        principal = accounts.principal_for_kiosk(db, token)
    if principal is None:
        session.clear()
        abort(401)
    session.clear()
    session["kiosk"] = token
    args = {k: v for k, v in request.args.items() if k != "kiosk"}
    target = request.path + (f"?{urlencode(args)}" if args else "")
    return redirect(target, code=303)


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def authorize_socket(namespace: str, event: str, data: Any = None) -> Principal:
    """Raise ``ConnectionRefusedError`` (on connect) or ``PermissionError`` unless allowed."""
    principal = resolve_principal(dict(session))
    ward = data.get("ward") if isinstance(data, dict) else None
    decision = policy.decide(
        policy.for_socket(namespace, event), principal, ward if isinstance(ward, str) else None
    )
    if not decision.allowed:
        if event == "connect":
            raise ConnectionRefusedError({"status": decision.status, "message": decision.reason})
        raise PermissionError(decision.reason)
    return principal  # type: ignore[return-value]


def install(app: Flask) -> None:
    s = app.extensions["wardboard"].settings
    app.config.update(
        SESSION_COOKIE_NAME="wardboard_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=s.cookie_secure,
        MAX_CONTENT_LENGTH=s.max_request_bytes,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=s.cookie_secure,
    )
    app.before_request(enforce_request)
    app.after_request(add_security_headers)
