"""The index's JSON API under /api/v1/mpi/: the clerks' queue, merges, redirects, search, sweep
and GP-feed reports. Every route needs the mpi.review permission (records clerks, see
whiteboard/auth/policy.py); every route is listed in docs/MPI_INDEX.md and the OpenAPI doc.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from config.db import utcnow
from config.services import services
from mpi import commands as cmds
from mpi.gp_feed import run_summary
from mpi.gp_feed_run import GpFeedRun
from mpi.history import PatientAddress, PatientName
from mpi.merge import MERGE_FIELDS
from mpi.merge_record import MergeRecord
from mpi.models import Patient, PatientIdentifier
from mpi.records import normal_postcode, person_record
from mpi.resolve import search, survivor
from mpi.review import OPEN_STATES, ReviewPair
from mpi.sweep import sweep_report
from whiteboard.errors import InvalidCommand, RecordError
from whiteboard.models import Stay
from whiteboard.web.access import current_principal
from whiteboard.web.problems import problem

bp = Blueprint("mpi_api", __name__, url_prefix="/api/v1/mpi")


def patient_json(session: Session, p: Patient) -> dict[str, Any]:
    idents = session.scalars(
        select(PatientIdentifier).where(PatientIdentifier.patient_id == p.id)
    ).all()
    names = session.scalars(select(PatientName).where(PatientName.patient_id == p.id)).all()
    addresses = session.scalars(
        select(PatientAddress).where(PatientAddress.patient_id == p.id)
    ).all()
    live = session.scalar(
        select(exists().where(Stay.patient_id == p.id).where(Stay.state == "active"))
    )
    return {
        "id": p.id,
        "nhs_number": p.nhs_number,
        "family_name": p.family_name,
        "given_names": p.given_names,
        "title": p.title,
        "date_of_birth": p.date_of_birth.isoformat() if p.date_of_birth else None,
        "sex": p.sex,
        "address": p.address,
        "postcode": p.postcode,
        "gp_practice_code": p.gp_practice_code,
        "placeholder": p.placeholder,
        "dob_placeholder": p.dob_placeholder,
        "merged_into_id": p.merged_into_id,
        "created_origin": p.created_origin,
        "created_at": p.created_at.isoformat(),
        "in_hospital": bool(live),
        "identifiers": [
            {
                "id": i.id,
                "authority": i.authority,
                "value": i.value,
                "valid": i.valid,
                "link_source": i.link_source,
                "link_state": i.link_state,
                "score": i.link_score,
            }
            for i in idents
        ],
        "previous_names": [
            {"family_name": n.family_name, "given_names": n.given_names, "source": n.source}
            for n in names
        ],
        "previous_addresses": [
            {"address": a.address, "postcode": a.postcode, "source": a.source} for a in addresses
        ],
    }


def pair_json(session: Session, pair: ReviewPair) -> dict[str, Any]:
    a = session.get_one(Patient, pair.patient_a_id)
    b = session.get_one(Patient, pair.patient_b_id)
    return {
        "id": pair.id,
        "state": pair.state,
        "score": pair.score,
        "risk": pair.risk,
        "found_by": pair.found_by,
        "created_at": pair.created_at.isoformat(),
        "decided_at": pair.decided_at.isoformat() if pair.decided_at else None,
        "decided_by": pair.decided_by,
        "decision": pair.decision,
        "patient_a": patient_json(session, a),
        "patient_b": patient_json(session, b),
    }


def _actor() -> str:
    """The signed-on clerk who decided: every merge, unmerge and not-a-duplicate is theirs."""
    principal = current_principal()
    return principal.name if principal is not None else "unknown"


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _run(command: Any) -> Any:
    try:
        return services().bus.handle(command)
    except InvalidCommand as exc:
        raise _Problem(400, "Bad Request", exc.message) from None
    except RecordError as exc:
        raise _Problem(409, "Conflict", exc.message) from None


class _Problem(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        self.status, self.title, self.detail = status, title, detail


@bp.errorhandler(_Problem)
def _problem(exc: _Problem) -> Response:
    return problem(exc.status, exc.title, exc.detail)


@bp.get("/review")
def review_queue() -> Response:
    state = request.args.get("state", "open")
    limit = min(int(request.args.get("limit", "50") or 50), 500)
    states = OPEN_STATES if state == "open" else (state,)
    with services().read_session() as session:
        # Open pairs first (deferred behind them), highest risk first.
        pairs = session.scalars(
            select(ReviewPair)
            .where(ReviewPair.state.in_(states))
            .order_by(
                (ReviewPair.state == "deferred").asc(),
                ReviewPair.risk.desc(),
                ReviewPair.id,
            )
            .limit(limit)
        ).all()
        total = len(
            session.scalars(select(ReviewPair.id).where(ReviewPair.state.in_(states))).all()
        )
        return jsonify({"total": total, "pairs": [pair_json(session, p) for p in pairs]})


@bp.get("/review/<int:pair_id>")
def review_pair(pair_id: int) -> Response:
    with services().read_session() as session:
        pair = session.get(ReviewPair, pair_id)
        if pair is None:
            return problem(404, "Not Found", f"no review pair {pair_id}")
        return jsonify(pair_json(session, pair))


def _pair_or_404(pair_id: int) -> ReviewPair:
    with services().read_session() as session:
        pair = session.get(ReviewPair, pair_id)
    if pair is None:
        raise _Problem(404, "Not Found", f"no review pair {pair_id}")
    return pair


@bp.post("/review/<int:pair_id>/merge")
def review_merge(pair_id: int) -> Response:
    pair = _pair_or_404(pair_id)
    body = _body()
    survivor_id = body.get("survivor_id")
    if survivor_id not in (pair.patient_a_id, pair.patient_b_id):
        raise _Problem(400, "Bad Request", "survivor_id must be one of the pair's two patients")
    merged_id = pair.patient_b_id if survivor_id == pair.patient_a_id else pair.patient_a_id
    take = body.get("take_from_merged") or []
    if not isinstance(take, list) or not all(f in MERGE_FIELDS for f in take):
        raise _Problem(400, "Bad Request", f"take_from_merged: a list of {', '.join(MERGE_FIELDS)}")
    merge_id = _run(
        cmds.MergePatients(
            utcnow(),
            survivor_id=survivor_id,
            merged_id=merged_id,
            take_from_merged=tuple(take),
            review_pair_id=pair_id,
            actor=_actor(),
            reason=str(body.get("reason") or "clerk review"),
            source="web",
        )
    )
    return jsonify({"merge_id": merge_id, "survivor_id": survivor_id, "merged_id": merged_id})


@bp.post("/review/<int:pair_id>/not-duplicate")
def review_not_duplicate(pair_id: int) -> Response:
    _pair_or_404(pair_id)
    actor = _actor()
    _run(cmds.MarkNotDuplicate(utcnow(), review_pair_id=pair_id, actor=actor, source="web"))
    return jsonify({"id": pair_id, "state": "not_duplicate"})


@bp.post("/review/<int:pair_id>/defer")
def review_defer(pair_id: int) -> Response:
    _pair_or_404(pair_id)
    actor = _actor()
    _run(cmds.DeferReviewPair(utcnow(), review_pair_id=pair_id, actor=actor, source="web"))
    return jsonify({"id": pair_id, "state": "deferred"})


@bp.post("/merges")
def manual_merge() -> Response:
    body = _body()
    try:
        survivor_id, merged_id = int(body["survivor_id"]), int(body["merged_id"])
    except (KeyError, TypeError, ValueError):
        raise _Problem(
            400, "Bad Request", "survivor_id and merged_id (integers) are required"
        ) from None
    take = body.get("take_from_merged") or []
    if not isinstance(take, list) or not all(f in MERGE_FIELDS for f in take):
        raise _Problem(400, "Bad Request", f"take_from_merged: a list of {', '.join(MERGE_FIELDS)}")
    merge_id = _run(
        cmds.MergePatients(
            utcnow(),
            survivor_id=survivor_id,
            merged_id=merged_id,
            take_from_merged=tuple(take),
            actor=_actor(),
            reason=str(body.get("reason") or "manual merge"),
            source="web",
        )
    )
    return jsonify({"merge_id": merge_id, "survivor_id": survivor_id, "merged_id": merged_id})


@bp.get("/merges")
def merges() -> Response:
    with services().read_session() as session:
        query = select(MergeRecord).order_by(MergeRecord.id.desc()).limit(200)
        if request.args.get("patient_id"):
            pid = int(request.args["patient_id"])
            query = query.where(or_(MergeRecord.survivor_id == pid, MergeRecord.merged_id == pid))
        return jsonify(
            {
                "merges": [
                    {
                        "id": m.id,
                        "survivor_id": m.survivor_id,
                        "merged_id": m.merged_id,
                        "merged_at": m.merged_at.isoformat(),
                        "merged_by": m.merged_by,
                        "reason": m.reason,
                        "unmerged_at": m.unmerged_at.isoformat() if m.unmerged_at else None,
                        "moved": m.moved,
                    }
                    for m in session.scalars(query)
                ]
            }
        )


@bp.post("/merges/<int:merge_id>/unmerge")
def unmerge(merge_id: int) -> Response:
    with services().read_session() as session:
        if session.get(MergeRecord, merge_id) is None:
            return problem(404, "Not Found", f"no merge {merge_id}")
    actor = _actor()
    _run(cmds.UnmergePatients(utcnow(), merge_id=merge_id, actor=actor, source="web"))
    return jsonify({"merge_id": merge_id, "state": "unmerged"})


@bp.post("/identifiers/<int:identifier_id>/unlink")
def unlink(identifier_id: int) -> Response:
    """Undo a wrong automatic link: {stay_ids: [...]} move with the identifier."""
    body = _body()
    stay_ids = body.get("stay_ids") or []
    if not isinstance(stay_ids, list) or not all(isinstance(i, int) for i in stay_ids):
        raise _Problem(400, "Bad Request", "stay_ids must be a list of integers")
    with services().read_session() as session:
        if session.get(PatientIdentifier, identifier_id) is None:
            return problem(404, "Not Found", f"no identifier {identifier_id}")
    new_id = _run(
        cmds.UnlinkIdentifier(
            utcnow(),
            identifier_id=identifier_id,
            stay_ids=tuple(stay_ids),
            actor=_actor(),
            source="web",
        )
    )
    return jsonify({"identifier_id": identifier_id, "patient_id": new_id})


@bp.get("/patients/<int:patient_id>")
def patient(patient_id: int) -> Response:
    """The patient this id means today: an id merged away redirects to its survivor."""
    with services().read_session() as session:
        p = session.get(Patient, patient_id)
        if p is None:
            return problem(404, "Not Found", f"no patient {patient_id}")
        live = survivor(session, p)
        return jsonify(
            {
                "requested_id": patient_id,
                "redirected": live.id != patient_id,
                "patient": patient_json(session, live),
            }
        )


@bp.get("/search")
def search_patients() -> Response:
    """Interactive look-up (registration desk): scored candidates through the blocking index."""
    args = request.args
    raw_dob = args.get("date_of_birth") or ""
    try:
        dob = date.fromisoformat(raw_dob) if raw_dob else None
    except ValueError:
        return problem(400, "Bad Request", "date_of_birth must be YYYY-MM-DD")
    record = person_record(
        "search",
        nhs=args.get("nhs_number"),
        family_name=args.get("family_name", ""),
        given_names=args.get("given_names", ""),
        dob=dob,
        dob_placeholder=False,
        sex=(args.get("sex") or "").upper()[:1] or None,
        postcode=normal_postcode(args.get("postcode")),
        address=args.get("address"),
    )
    with services().read_session() as session:
        decisions = search(session, record)
        return jsonify(
            {
                "candidates": [
                    {
                        "patient": patient_json(
                            session, session.get_one(Patient, int(d.record_id_b))
                        ),
                        "zone": d.zone,
                        "score": round(d.score, 2),
                        "decision": d.as_dict(),
                    }
                    for d in decisions
                ]
            }
        )


@bp.get("/sweep/report")
def sweep() -> Response:
    days = min(int(request.args.get("days", "7") or 7), 90)
    return jsonify(sweep_report(services(), days=days))


@bp.get("/gp-feed/runs")
def gp_feed_runs() -> Response:
    with services().read_session() as session:
        runs = session.scalars(select(GpFeedRun).order_by(GpFeedRun.id.desc()).limit(50)).all()
        return jsonify({"runs": [run_summary(r) for r in runs]})
