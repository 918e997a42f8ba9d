"""JSON API for the HL7 journal: search messages, see one (raw, parsed, the ACK sent), list
the error queue, replay.

No sign-on here yet: the routes are listed for the lead to protect when staff sign-on lands.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import LargeBinary, bindparam, func, select, text

from config.services import services
from integration import journal
from integration.hl7.charset import UndecodableMessage, UnsupportedCharset, decode
from integration.hl7.reader import MessageReader, UnparseableMessage
from integration.journal import InboundMessage
from integration.outbound.queue import OutboundMessage
from whiteboard.models import Order, Result
from whiteboard.web.problems import problem

bp = Blueprint("hl7_api", __name__, url_prefix="/api/v1/hl7")

MAX_LIMIT = 500


def _summary(m: InboundMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "received_at": m.received_at.isoformat(),
        "sender": m.sender,
        "peer": m.peer,
        "message_type": m.message_type,
        "trigger_event": m.trigger_event,
        "control_id": m.control_id,
        "version": m.version,
        "state": m.state,
        "ack_code": m.ack_code,
        "error_code": m.error_code,
        "error": m.error,
        "applied_at": m.applied_at.isoformat() if m.applied_at else None,
    }


def _text(raw: bytes | None, charset: str) -> str:
    if raw is None:
        return ""
    try:
        return decode(raw, charset)[0]
    except (UnsupportedCharset, UndecodableMessage):
        return raw.decode("utf-8", errors="replace")


def _parsed(text: str) -> list[dict[str, Any]] | None:
    """Segments and fields as python-hl7 reads them, for the monitor's parsed view."""
    try:
        msg = MessageReader(text)
    except UnparseableMessage:
        return None
    return [
        {"segment": str(seg[0]), "fields": [str(f) for f in list(seg)[1:]]} for seg in msg.message
    ]


def _time_arg(name: str) -> datetime | None:
    value = request.args.get(name)
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{name} needs a time zone, e.g. 2026-11-22T09:00:00+00:00")
    return moment


@bp.get("/messages")
def messages() -> Response:
    """Search: sender, type (ADT or ADT^A01), control_id, state, patient (an identifier
    anywhere in the message), since/until (ISO 8601 with offset), limit."""
    query = select(InboundMessage).order_by(InboundMessage.id.desc())
    args = request.args
    try:
        limit = min(int(args.get("limit", 100)), MAX_LIMIT)
        since, until = _time_arg("since"), _time_arg("until")
    except ValueError as exc:
        return problem(400, "Bad Request", str(exc))
    if args.get("sender"):
        query = query.where(InboundMessage.sender == args["sender"])
    if args.get("control_id"):
        query = query.where(InboundMessage.control_id == args["control_id"])
    if args.get("state"):
        query = query.where(InboundMessage.state == args["state"])
    if args.get("type"):
        kind, _, trigger = args["type"].upper().partition("^")
        query = query.where(InboundMessage.message_type == kind)
        if trigger:
            query = query.where(InboundMessage.trigger_event == trigger)
    if since:
        query = query.where(InboundMessage.received_at >= since)
    if until:
        query = query.where(InboundMessage.received_at < until)
    with services().read_session() as session:
        if args.get("patient"):
            # A scan of the raw bytes: fine for a monitor on a bounded journal; an indexed
            # identifier column is the next step when retention keeps millions of rows.
            needle = args["patient"].encode()
            if session.get_bind().dialect.name == "sqlite":
                query = query.where(func.instr(InboundMessage.raw, needle) > 0)
            else:
                query = query.where(
                    text("position(:needle in inbound_message.raw) > 0").bindparams(
                        bindparam("needle", needle, type_=LargeBinary)
                    )
                )
        rows = session.scalars(query.limit(limit)).all()
        return jsonify({"messages": [_summary(m) for m in rows]})


@bp.get("/messages/<int:entry_id>")
def message(entry_id: int) -> Response:
    with services().read_session() as session:
        m = session.get(InboundMessage, entry_id)
        if m is None:
            return problem(404, "Not Found", f"no journal entry {entry_id}")
        text = _text(m.raw, m.charset)
        body = _summary(m) | {
            "raw": text,
            "parsed": _parsed(text),
            "ack": _text(m.ack, m.charset) if m.ack else None,
        }
        return jsonify(body)


@bp.get("/errors")
def errors() -> Response:
    query = (
        select(InboundMessage)
        .where(InboundMessage.state.in_(journal.ERROR_STATES))
        .order_by(InboundMessage.id.desc())
        .limit(MAX_LIMIT)
    )
    with services().read_session() as session:
        return jsonify({"errors": [_summary(m) for m in session.scalars(query)]})


@bp.post("/replay")
def replay() -> Response:
    """Body {"ids": [1, 2]}: apply those journal entries again (bypasses the duplicate check)."""
    body = request.get_json(silent=True)
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
        return problem(400, "Bad Request", 'expected {"ids": [journal entry id, ...]}')
    try:
        outcomes = services().pipeline.replay(ids)
    except KeyError as exc:
        return problem(404, "Not Found", f"no journal entry with id {exc.args[0]}")
    return jsonify(
        {
            "results": [
                {"id": o.entry_id, "code": o.code, "ack": o.ack.decode("utf-8", "replace")}
                for o in outcomes
            ]
        }
    )


@bp.get("/orders")
def orders() -> Response:
    """Orders with their status (ordered, performed, reported, cancelled), newest first."""
    query = select(Order).order_by(Order.id.desc()).limit(MAX_LIMIT)
    if request.args.get("status"):
        query = query.where(Order.status == request.args["status"])
    with services().read_session() as session:
        return jsonify(
            {
                "orders": [
                    {
                        "id": o.id,
                        "patient_id": o.patient_id,
                        "placer_system": o.placer_system,
                        "placer_order_number": o.placer_order_number,
                        "filler_order_number": o.filler_order_number,
                        "service": f"{o.service_code}^{o.service_text}",
                        "ordering_practice": o.ordering_practice,
                        "status": o.status,
                        "ordered_at": o.ordered_at.isoformat(),
                    }
                    for o in session.scalars(query)
                ]
            }
        )


@bp.get("/results")
def results() -> Response:
    """Results, newest first; ``unmatched=1``: only results for orders we do not know."""
    query = select(Result).order_by(Result.id.desc()).limit(MAX_LIMIT)
    if request.args.get("unmatched") in ("1", "true", "yes"):
        query = query.where(Result.order_id.is_(None))
    with services().read_session() as session:
        return jsonify(
            {
                "results": [
                    {
                        "id": r.id,
                        "order_id": r.order_id,
                        "patient_id": r.patient_id,
                        "placer_order_number": r.placer_order_number,
                        "filler_order_number": r.filler_order_number,
                        "service": f"{r.service_code}^{r.service_text}",
                        "report_status": r.report_status,
                        "observations": r.observations.splitlines(),
                        "reported_at": r.reported_at.isoformat(),
                    }
                    for r in session.scalars(query)
                ]
            }
        )


@bp.get("/outbound")
def outbound() -> Response:
    """The outbound queue, newest first: pending (with attempts and the last error), sent,
    failed (AR, not retried). ``state=`` to filter."""
    query = select(OutboundMessage).order_by(OutboundMessage.id.desc()).limit(MAX_LIMIT)
    if request.args.get("state"):
        query = query.where(OutboundMessage.state == request.args["state"])
    with services().read_session() as session:
        return jsonify(
            {
                "messages": [
                    {
                        "id": m.id,
                        "destination": m.destination,
                        "message_type": m.message_type,
                        "control_id": m.control_id,
                        "state": m.state,
                        "attempts": m.attempts,
                        "next_attempt_at": m.next_attempt_at.isoformat(),
                        "last_error": m.last_error,
                        "created_at": m.created_at.isoformat(),
                        "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                        "payload": m.payload.decode("utf-8", "replace"),
                        "ack": m.ack.decode("utf-8", "replace") if m.ack else None,
                    }
                    for m in session.scalars(query)
                ]
            }
        )
