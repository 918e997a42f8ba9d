"""Sign-on and sign-off: smartcard number + PIN, administrator password, card-reader agent.

A USB card reader types the card number and Enter; the page then moves to the PIN field, so a
member of staff signs on with their card and four digits. The card-reader endpoint lets a
small agent on a workstation report card in/out with that workstation's secret; taking the
card out ends the session and blanks every screen of it at once (Socket.IO ``session_ended``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFProtect

from config.db import utcnow
from config.services import services
from whiteboard.auth import accounts, roles
from whiteboard.auth.audit import append as audit_append
from whiteboard.auth.ratelimit import RateLimiter
from whiteboard.web.access import account_policy, current_principal, resolve_principal
from whiteboard.web.problems import problem
from whiteboard.web.socket import end_session_screens

bp = Blueprint("auth", __name__)
WORKSTATION_COOKIE = "wardboard_workstation"


def _limiter() -> RateLimiter:
    ext = services()
    limiter = getattr(ext, "_signon_limiter", None)
    if limiter is None:
        limiter = RateLimiter(ext.settings.signon_rate_per_minute)
        ext._signon_limiter = limiter  # type: ignore[attr-defined]
    return limiter


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _landing(role: str) -> str:
    if roles.allowed(role, roles.WARD_LIST):
        return url_for("boards.index")
    if roles.allowed(role, roles.PATIENT_VIEW):
        return url_for("patients.search")
    return url_for("audit.page")


def _workstation() -> str:
    raw = request.values.get("workstation") or request.cookies.get(WORKSTATION_COOKIE) or ""
    return "".join(ch for ch in raw if ch.isalnum() or ch in "-_.")[:64]


def _render(error: str = "", status: int = 200) -> tuple[str, int]:
    return (
        render_template(
            "signon.html",
            error=error,
            next=_safe_next(request.values.get("next")) or "",
            workstation=_workstation(),
            ended=request.args.get("ended", ""),
        ),
        status,
    )


@bp.route("/signon", methods=["GET", "POST"])
def signon() -> Any:
    if request.method == "GET":
        return _render()
    if not _limiter().hit(request.remote_addr or "?"):
        return _render("Too many sign-on attempts from this computer; wait a minute.", 429)
    card = request.form.get("card", "")[:40]
    pin = request.form.get("pin", "")[:12]
    return _complete("card", lambda db: accounts.check_card(db, card, pin))


@bp.post("/signon/password")
def signon_password() -> Any:
    if not _limiter().hit(request.remote_addr or "?"):
        return _render("Too many sign-on attempts from this computer; wait a minute.", 429)
    username = request.form.get("username", "")[:64]
    password = request.form.get("password", "")[:200]
    return _complete("password", lambda db: accounts.check_password(db, username, password))


def _complete(method: str, check: Any) -> Any:
    svc = services()
    workstation = _workstation()
    with svc.read_session() as db:
        attempt = check(db)  # Argon2: slow, so outside the write transaction and its lock
    with svc.uow_factory() as uow:
        try:
            signon, token = accounts.finish_sign_on(
                uow.session, attempt, method, workstation, utcnow(), account_policy()
            )
        except accounts.SignOnRefused as exc:
            uow.commit()  # the failure count and any lockout must stick
            return _render(str(exc), 401)
        role = signon.user.role
        username = signon.user.username
        audit_append(uow.session, [(username, role, "signon", None, workstation, method)])
        uow.commit()
    session.clear()
    session["signon"] = token
    response = redirect(_safe_next(request.form.get("next")) or _landing(role), code=303)
    if workstation:
        response.set_cookie(
            WORKSTATION_COOKIE,
            workstation,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=svc.settings.cookie_secure,
        )
    return response


@bp.post("/signoff")
def signoff() -> Any:
    principal = current_principal()
    reason = "idle" if request.form.get("reason") == "idle" else "signoff"
    if principal is not None and principal.signon_id is not None:
        with services().uow_factory() as uow:
            ids = accounts.end_signons(uow.session, utcnow(), reason, signon_id=principal.signon_id)
            uow.commit()
        end_session_screens(ids, reason)
    session.clear()
    return redirect(url_for("auth.signon", ended=reason), code=303)


@bp.get("/signon/ticket/<ticket>")
def ticket(ticket: str) -> Any:
    """The reader agent opens this after a card goes in: the browser becomes that session."""
    with services().uow_factory() as uow:
        token = accounts.redeem_ticket(uow.session, ticket, utcnow())
        uow.commit()
    if token is None:
        return _render("That sign-on link has expired; take the card out and put it in again.", 401)
    session.clear()
    session["signon"] = token
    principal = resolve_principal({"signon": token})
    return redirect(_landing(principal.role if principal else ""), code=303)


@bp.post("/api/v1/card-reader")
def card_reader() -> Response:
    """``Authorization: Workstation <name>:<secret>``; body {event: inserted|removed, card, pin}."""
    svc = services()
    if not _limiter().hit(f"reader:{request.remote_addr}"):
        return problem(429, "Too Many Requests", "slow down")
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    name, _, secret = value.partition(":")
    body = request.get_json(silent=True)
    with svc.read_session() as db:
        ws = accounts.check_workstation(db, name, secret) if scheme == "Workstation" else None
        ws_name = ws.name if ws is not None else ""
    if ws is None:
        return problem(401, "Unauthorized", "unknown workstation or wrong secret")
    if not isinstance(body, dict) or body.get("event") not in ("inserted", "removed"):
        return problem(400, "Bad Request", "body must be {event: inserted|removed, card}")
    card = str(body.get("card", ""))[:40]
    now = utcnow()
    if body["event"] == "removed":
        with svc.uow_factory() as uow:
            user = accounts.user_for_card(uow.session, card)
            ids = (
                accounts.end_signons(
                    uow.session, now, "card_removed", user_id=user.id, workstation=ws_name
                )
                if user is not None
                else []
            )
            uow.commit()
        end_session_screens(ids, "card_removed")
        return jsonify(ended=len(ids))
    with svc.read_session() as db:
        attempt = accounts.check_card(db, card, str(body.get("pin", ""))[:12])
    with svc.uow_factory() as uow:
        try:
            signon, _token = accounts.finish_sign_on(
                uow.session, attempt, "agent", ws_name, now, account_policy()
            )
        except accounts.SignOnRefused as exc:
            uow.commit()
            return problem(401, "Unauthorized", str(exc))
        ticket_value = accounts.issue_ticket(uow.session, signon, now, account_policy())
        username, role = signon.user.username, signon.user.role
        audit_append(uow.session, [(username, role, "signon", None, ws_name, "agent")])
        uow.commit()
    url = url_for("auth.ticket", ticket=ticket_value)
    response = jsonify(signon_url=url)
    response.status_code = 201
    return response


def install_csrf(app: Any) -> CSRFProtect:
    csrf = CSRFProtect(app)
    csrf.exempt(card_reader)  # authenticated by the workstation secret, never by a cookie
    return csrf
