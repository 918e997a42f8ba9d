"""Reading the GP synopsis for display, behind the practice's sharing authorisation.

The rule (docs/GP_SYNOPSIS.md): a hospital clinician whose role may read GP records sees the
synopsis from the patient's *registered* practice, and only while that practice has an
unrevoked sharing authorisation. Otherwise they see why not ("not shared by practice X"),
never the content. Callers audit every view that shows content.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mpi.models import Patient
from whiteboard.models.gp_synopsis import GpSharingAuthorisation, GpSynopsis


def active_authorisation(session: Session, practice: str) -> GpSharingAuthorisation | None:
    return session.scalars(
        select(GpSharingAuthorisation)
        .where(GpSharingAuthorisation.practice_code == practice.upper())
        .where(GpSharingAuthorisation.revoked_at.is_(None))
        .order_by(GpSharingAuthorisation.id.desc())
    ).first()


def latest_synopsis(session: Session, patient_id: int, practice: str) -> GpSynopsis | None:
    """The practice's newest synopsis for this patient (a merge, from HL7 or a clerk, moves
    the merged record's synopses to the survivor: ``mpi.merge.FOLLOWERS``)."""
    return session.scalars(
        select(GpSynopsis)
        .where(GpSynopsis.patient_id == patient_id)
        .where(GpSynopsis.practice_code == practice.upper())
        .options(
            selectinload(GpSynopsis.medications),
            selectinload(GpSynopsis.allergies),
            selectinload(GpSynopsis.events),
        )
        .order_by(GpSynopsis.as_of.desc(), GpSynopsis.id.desc())
    ).first()


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def synopsis_json(s: GpSynopsis) -> dict[str, Any]:
    return {
        "id": s.id,
        "practice": s.practice_code,
        "as_of": _iso(s.as_of),
        "received_at": _iso(s.received_at),
        "source": s.source,
        "medications": [
            {"name": m.name, "dose": m.dose, "started": _iso(m.started)} for m in s.medications
        ],
        "allergies": [
            {"substance": a.substance, "reaction": a.reaction, "severity": a.severity}
            for a in s.allergies
        ],
        "significant_events": [
            {"date": _iso(e.event_date), "description": e.description} for e in s.events
        ],
    }


def gp_record_for(session: Session, patient: Patient) -> dict[str, Any]:
    """What a permitted clinician may see of the GP record, with ``shared`` saying which case.

    ``status``: ``no_practice`` (no registered practice), ``not_shared`` (the practice has not
    authorised sharing, or revoked it), ``no_synopsis`` (shared, nothing received) or
    ``shown``; ``synopsis`` is present only for ``shown``.
    """
    practice = (patient.gp_practice_code or "").upper()
    if not practice:
        return {
            "practice": None,
            "shared": False,
            "status": "no_practice",
            "message": "No registered GP practice is recorded for this patient.",
        }
    auth = active_authorisation(session, practice)
    if auth is None:
        return {
            "practice": practice,
            "shared": False,
            "status": "not_shared",
            "message": f"Not shared by practice {practice}: the practice has not authorised "
            "sharing its record with the hospital.",
        }
    out: dict[str, Any] = {
        "practice": practice,
        "shared": True,
        "authorised_by": auth.authorised_by,
        "authorised_at": _iso(auth.authorised_at),
    }
    synopsis = latest_synopsis(session, patient.id, practice)
    if synopsis is None:
        out.update(
            status="no_synopsis",
            message=f"Practice {practice} shares its record but has sent no synopsis for "
            "this patient.",
        )
        return out
    out.update(status="shown", synopsis=synopsis_json(synopsis))
    return out


def sharing_listing(session: Session) -> list[dict[str, Any]]:
    """Every authorisation ever recorded, newest first (revoked ones included)."""
    rows = session.scalars(
        select(GpSharingAuthorisation).order_by(GpSharingAuthorisation.id.desc())
    ).all()
    return [
        {
            "id": r.id,
            "practice": r.practice_code,
            "authorised_by": r.authorised_by,
            "recorded_by": r.recorded_by,
            "authorised_at": _iso(r.authorised_at),
            "revoked_at": _iso(r.revoked_at),
            "revoked_by": r.revoked_by,
            "note": r.note,
            "active": r.revoked_at is None,
        }
        for r in rows
    ]
