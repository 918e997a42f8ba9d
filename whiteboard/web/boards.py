"""The board pages: the list of wards and one live board per ward."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, url_for
from sqlalchemy import select

from config.services import services
from whiteboard.board.snapshot import ward_summaries
from whiteboard.models import Ward
from whiteboard.web.access import current_principal
from whiteboard.web.actor import current_actor
from whiteboard.web.socket import NAMESPACE

bp = Blueprint("boards", __name__)


@bp.get("/")
def index() -> str:
    with services().read_session() as session:
        wards = ward_summaries(session)
    return render_template("index.html", wards=wards, hospital=services().settings.hospital_name)


@bp.get("/wards/<code>")
def board(code: str) -> str:
    with services().read_session() as session:
        ward = session.scalars(select(Ward).where(Ward.code == code)).first()
        if ward is None:
            abort(404)
        info = {"code": ward.code, "name": ward.name, "kind": ward.kind}
    settings = services().settings
    principal = current_principal()
    return render_template(
        "board.html",
        ward=info,
        snapshot_url=url_for("api.ward_board", code=code),
        socket_namespace=NAMESPACE,
        timezone=settings.timezone,
        ae_warn_minutes=settings.clinical.ae.warning_minutes,
        ae_breach_minutes=settings.clinical.ae.breach_minutes,
        ae_long_wait_minutes=settings.clinical.ae.twelve_hour_minutes,
        staff_panel=current_actor() is not None,
        show_identifiers=bool(principal and principal.is_staff),
    )
