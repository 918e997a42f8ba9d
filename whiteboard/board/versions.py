"""Ward versions: bumped in the same transaction as the change a board would show.

A board compares the version it holds with the one pushed; a gap or a reconnect means it
re-fetches the snapshot rather than trusting what it has.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from whiteboard.models import Ward


def bump_ward_versions(session: Session, events: list[Any]) -> None:
    codes = sorted({code for event in events for code in getattr(event, "wards", ())})
    if codes:
        session.execute(update(Ward).where(Ward.code.in_(codes)).values(version=Ward.version + 1))
