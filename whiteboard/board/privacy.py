"""Privacy mode: what a corridor board may show, derived from the full snapshot.

A kiosk (a wall board in a corridor) sees surname and first initial, or initials only, or the
patient's alias when the patient is marked confidential; never NHS or hospital numbers. The
staff and kiosk views are built here, side by side, and pushed to different rooms, so a kiosk
socket is never in a room that receives the full view.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from whiteboard.auth.models import PatientPrivacy
from whiteboard.models import Stay

CONFIDENTIAL_NAME = "Confidential patient"


def surname_and_initial(display_name: str) -> str:
    family, _, given = display_name.partition(",")
    initial = given.strip()[:1].upper()
    return f"{family.strip()}, {initial}" if initial else family.strip()


def redact_for_kiosk(session: Session, snapshot: dict[str, Any]) -> dict[str, Any]:
    """The kiosk view of ``snapshot``, which is left as it was.

    Only the patient entries change, so only they are copied (one level); the rest (bays,
    counts, alert lists) is shared with the staff view and must be treated as read-only by
    whoever sends them. A deep copy of the whole snapshot was a sixth of each board push.
    """
    out = dict(snapshot)
    if "patients" in out:
        out["patients"] = [dict(p) for p in out["patients"]]
    stay_ids = [
        int(p["key"][2:]) for p in out.get("patients", []) if str(p.get("key", "")).startswith("s-")
    ]
    privacy: dict[int, Any] = {}
    if stay_ids:
        rows = session.connection().execute(_privacy_query(), {"ids": stay_ids}).all()
        privacy = {row.id: row for row in rows}
    for p in out.get("patients", []):
        pp = privacy.get(int(p["key"][2:])) if str(p.get("key", "")).startswith("s-") else None
        if pp is not None and pp.confidential:
            p["display_name"] = pp.alias or CONFIDENTIAL_NAME
            p["initials"] = "".join(w[:1].upper() for w in p["display_name"].split()[:2])
            p["age"] = None
            p["sex"] = None
        elif pp is not None and pp.initials_only:
            p["display_name"] = p.get("initials", "")
        else:
            p["display_name"] = surname_and_initial(p.get("display_name", ""))
        p["hospital_number"] = None
        p["nhs_number"] = None
    out["privacy"] = "kiosk"
    return out


@lru_cache(maxsize=1)
def _privacy_query() -> Any:
    """Built once: the kiosk view is made on every push."""
    return (
        select(
            Stay.id, PatientPrivacy.confidential, PatientPrivacy.alias, PatientPrivacy.initials_only
        )
        .join(PatientPrivacy, PatientPrivacy.patient_id == Stay.patient_id)
        .where(Stay.id.in_(bindparam("ids", expanding=True)))
    )
