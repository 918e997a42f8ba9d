"""Nurse allocation on the web: the nurse in charge (or the ward manager) sets which nurse has
which bays and beds this shift, by JSON API or the form page; each change is audited.

Routes: ``GET``/``PUT /api/v1/wards/<code>/nurse-allocation`` (``?date=&shift=``; neither: the
current shift) and the form at ``/wards/<code>/allocation``. Permission ``nurse.allocate``
(nurses and managers). Refusals are problem+json (API) or the form again with the reason:
404 no such ward, 422 bad input (names the field, nurse, bay or bed).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from config.services import services
from whiteboard import clinical_commands as cc
from whiteboard.auth.audit import changed_by
from whiteboard.auth.principal import Principal
from whiteboard.errors import InvalidCommand, RecordError, UnknownLocation
from whiteboard.models import Ward
from whiteboard.models.allocation import SHIFTS
from whiteboard.nurse_allocation import active_nurses, ward_allocation
from whiteboard.shifts import Shift, ShiftTimes, shift_at, shift_of
from whiteboard.web.access import current_principal
from whiteboard.web.clinical_api import BadInput, Body
from whiteboard.web.problems import problem

bp = Blueprint("allocation", __name__)
API_FIELDS = {"date", "shift", "nurse_in_charge", "nurses"}
NURSE_FIELDS = {"nurse", "bays", "beds"}
# Two first allocations of one shift at the same moment: the unique (ward, date, shift) row
# lets one in; the other is told to look again rather than silently merged.
SAME_TIME = "someone else set this shift's allocation at the same moment; reload and check it"
BED_ROWS = 3  # blank single-bed rows the form offers beyond those already set


def _times() -> ShiftTimes:
    return ShiftTimes.from_settings(services().settings)


def _shift(raw_date: str | None, raw_shift: str | None) -> Shift:
    """The shift the request names (both date and shift), else the one running now."""
    raw_date, raw_shift = (raw_date or "").strip(), (raw_shift or "").strip()
    if not raw_date and not raw_shift:
        return shift_at(services().clock.now(), _times())
    if not raw_date or not raw_shift:
        raise BadInput("give both date and shift, or neither for the current shift")
    if raw_shift not in SHIFTS:
        raise BadInput(f"shift must be one of {', '.join(SHIFTS)}")
    try:
        day = date.fromisoformat(raw_date)
    except ValueError:
        raise BadInput("date must be a date YYYY-MM-DD") from None
    return shift_of(day, raw_shift, _times())


def _principal() -> Principal:
    principal = current_principal()
    assert principal is not None  # the policy let only a permitted principal through
    return principal


def set_allocation(
    ward: str, shift: Shift, in_charge: str | None, assignments: tuple[cc.NurseAssignment, ...]
) -> int:
    """Run the command as the signed-on member of staff and audit it."""
    svc = services()
    principal = _principal()
    with changed_by(principal):
        allocation_id = svc.bus.handle(
            cc.SetNurseAllocation(
                svc.clock.now(),
                ward=ward,
                shift_date=shift.date,
                shift=shift.name,
                actor=principal.name,
                nurse_in_charge=in_charge or None,
                assignments=assignments,
                source="web",
            )
        )
    svc.audit.record(
        "nurse_allocation.set",
        principal=principal,
        detail={
            "ward": ward,
            "date": shift.date.isoformat(),
            "shift": shift.name,
            "nurse_in_charge": in_charge or None,
            "nurses": {a.nurse: [*a.bays, *a.beds] for a in assignments},
        },
    )
    return allocation_id


def _ward_view(code: str, shift: Shift) -> dict[str, Any] | None:
    with services().read_session() as session:
        ward = session.scalars(select(Ward).where(Ward.code == code)).first()
        if ward is None:
            return None
        return ward_allocation(session, ward, shift)


# --- JSON API ----------------------------------------------------------------------------


@bp.get("/api/v1/wards/<code>/nurse-allocation")
def api_get(code: str) -> Response:
    try:
        shift = _shift(request.args.get("date"), request.args.get("shift"))
    except BadInput as exc:
        return problem(422, "Unprocessable Content", str(exc))
    body = _ward_view(code, shift)
    if body is None:
        return problem(404, "Not Found", f"no ward {code!r}")
    return jsonify(body)


def _assignments(body: Body) -> tuple[cc.NurseAssignment, ...]:
    if "nurses" not in body.data:
        # Never clear a ward's allocation by omission: an empty list says so on purpose.
        raise BadInput("nurses is required (an empty list clears the shift's allocation)")
    raw = body.data["nurses"]
    if not isinstance(raw, list):
        raise BadInput("nurses must be a list of {nurse, bays, beds}")
    out = []
    for i, item in enumerate(raw):
        where = f"nurses[{i}]"
        if not isinstance(item, dict):
            raise BadInput(f"{where} must be an object {{nurse, bays, beds}}")
        unknown = sorted(set(item) - NURSE_FIELDS)
        if unknown:
            raise BadInput(f"{where} has an unexpected field {unknown[0]!r}")
        nurse = item.get("nurse")
        if not isinstance(nurse, str) or not nurse.strip():
            raise BadInput(f"{where}.nurse (a nurse's username) is required")
        lists = {}
        for name in ("bays", "beds"):
            value = item.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise BadInput(f"{where}.{name} must be a list of codes")
            lists[name] = tuple(v.strip() for v in value if v.strip())
        out.append(cc.NurseAssignment(nurse.strip(), lists["bays"], lists["beds"]))
    return tuple(out)


@bp.put("/api/v1/wards/<code>/nurse-allocation")
def api_set(code: str) -> Response:
    """Set or replace the shift's whole allocation (what is not listed is unallocated)."""
    try:
        body = Body()
        unknown = sorted(set(body.data) - API_FIELDS)
        if unknown:
            raise BadInput(f"unexpected field {unknown[0]!r}")
        shift = _shift(body.str("date"), body.str("shift"))
        in_charge = body.str("nurse_in_charge")
        allocation_id = set_allocation(code, shift, in_charge, _assignments(body))
    except BadInput as exc:
        return problem(422, "Unprocessable Content", str(exc))
    except UnknownLocation as exc:
        return problem(404, "Not Found", exc.message)
    except (InvalidCommand, RecordError) as exc:
        return problem(422, "Unprocessable Content", exc.message)
    except IntegrityError:
        return problem(409, "Conflict", SAME_TIME)
    return jsonify({"id": allocation_id, "ward": code, **shift.to_dict()})


# --- the form ------------------------------------------------------------------------------


def _render(code: str, shift: Shift, error: str | None = None, status: int = 200) -> Any:
    svc = services()
    with svc.read_session() as session:
        ward = session.scalars(select(Ward).where(Ward.code == code)).first()
        if ward is None:
            return problem(404, "Not Found", f"no ward {code!r}")
        view = ward_allocation(session, ward, shift)
        ward_name = ward.name
        bays = [{"code": b.code, "name": b.name, "beds": len(b.beds)} for b in ward.bays]
        bed_codes = [b.code for b in ward.beds]
        nurses = active_nurses(session)
        wards = [(w.code, w.name) for w in session.scalars(select(Ward).order_by(Ward.position))]
    by_bay = {bay: n["nurse"] for n in view["nurses"] for bay in n["bays"]}
    beds = [(bed, n["nurse"]) for n in view["nurses"] for bed in n["beds"]]
    beds += [("", "")] * BED_ROWS
    now = svc.clock.now()
    current = shift_at(now, _times())
    nxt = shift_at(current.ends_at, _times())
    html = render_template(
        "allocation.html",
        ward={"code": code, "name": ward_name},
        shift=shift,
        view=view,
        bays=bays,
        bed_codes=bed_codes,
        nurses=nurses,
        by_bay=by_bay,
        beds=beds,
        wards=wards,
        shifts=[("Current shift", current), ("Next shift", nxt)],
        ended=shift.ends_at <= now,
        set_at=(
            datetime.fromisoformat(view["set_at"]).astimezone(current.starts_at.tzinfo)
            if view["set_at"]
            else None
        ),
        error=error,
        saved=request.args.get("saved") == "1" and error is None,
    )
    return html, status


@bp.get("/wards/<code>/allocation")
def page(code: str) -> Any:
    try:
        shift = _shift(request.args.get("date"), request.args.get("shift"))
    except BadInput as exc:
        return _render(code, shift_at(services().clock.now(), _times()), str(exc), 422)
    return _render(code, shift)


def _form_assignments() -> tuple[str | None, tuple[cc.NurseAssignment, ...]]:
    """The form's selects as the command's assignments, grouped by nurse in form order."""
    form = request.form
    bays: dict[str, list[str]] = {}
    beds: dict[str, list[str]] = {}
    for key, nurse in form.items():
        if key.startswith("bay:") and nurse:
            bays.setdefault(nurse, []).append(key[4:])
    i = 0
    while f"bed_code_{i}" in form:
        bed, nurse = form.get(f"bed_code_{i}", "").strip(), form.get(f"bed_nurse_{i}", "")
        if bed and nurse:
            beds.setdefault(nurse, []).append(bed)
        elif bed or nurse:
            raise BadInput(f"single bed row {i + 1}: choose both a bed and a nurse")
        i += 1
    order = list(dict.fromkeys([*bays, *beds]))
    assignments = tuple(
        cc.NurseAssignment(n, tuple(bays.get(n, ())), tuple(beds.get(n, ()))) for n in order
    )
    return form.get("in_charge") or None, assignments


@bp.post("/wards/<code>/allocation")
def page_set(code: str) -> Any:
    try:
        shift = _shift(request.form.get("date"), request.form.get("shift"))
    except BadInput as exc:
        return _render(code, shift_at(services().clock.now(), _times()), str(exc), 422)
    try:
        in_charge, assignments = _form_assignments()
        set_allocation(code, shift, in_charge, assignments)
    except BadInput as exc:
        return _render(code, shift, str(exc), 422)
    except UnknownLocation as exc:
        return problem(404, "Not Found", exc.message)
    except (InvalidCommand, RecordError) as exc:
        return _render(code, shift, exc.message, 422)
    except IntegrityError:
        return _render(code, shift, SAME_TIME, 409)
    target = url_for("allocation.page", code=code, date=shift.date.isoformat(), shift=shift.name)
    return redirect(target + "&saved=1", code=303)
