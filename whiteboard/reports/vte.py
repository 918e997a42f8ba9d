"""VTE assessment times for the consultant email and the VTE report: the one place that reads
them. The earliest assessment of a stay is the one the 14-hour standard looks at.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from whiteboard.models import VteAssessment


@dataclass(frozen=True)
class VteData:
    # Always True since VTE assessments are recorded in Wardboard; kept so the report and
    # email code that can say "not available" stays correct for a data source that lacks them.
    available: bool
    assessed_at: dict[int, datetime] = field(default_factory=dict)


def vte_assessments(session: Session, stay_ids: Iterable[int]) -> VteData:
    """The first assessment time of each stay that has one."""
    ids = list(stay_ids)
    found: dict[int, datetime] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.execute(
            select(VteAssessment.stay_id, func.min(VteAssessment.assessed_at))
            .where(VteAssessment.stay_id.in_(chunk))
            .group_by(VteAssessment.stay_id)
        ).all()
        found.update({stay_id: when for stay_id, when in rows if when is not None})
    return VteData(available=True, assessed_at=found)
