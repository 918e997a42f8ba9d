"""The audit export of every link: which local record points at which enterprise patient."""

from __future__ import annotations

import csv
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from mpi.models import Patient, PatientIdentifier

EXPORT_HEADER = ("source", "local_id", "enterprise_id", "link_source", "link_state", "score")


def export_links(session: Session, out: TextIO) -> int:
    """Write the CSV; ``enterprise_id`` follows merge redirects to the surviving record.

    ``source`` is the assigning authority (WGH, NHS, GP:P84001 ...), ``link_source`` how the link
    was made (exact, probabilistic, merge), ``score`` the match score in bits when it was
    probabilistic. Returns the number of rows written.
    """
    writer = csv.writer(out)
    writer.writerow(EXPORT_HEADER)
    redirect = dict(
        session.execute(
            select(Patient.id, Patient.merged_into_id).where(Patient.merged_into_id.is_not(None))
        ).all()
    )
    owner = aliased(Patient)
    rows = session.execute(
        select(
            PatientIdentifier.authority,
            PatientIdentifier.value,
            PatientIdentifier.patient_id,
            PatientIdentifier.link_source,
            PatientIdentifier.link_state,
            PatientIdentifier.link_score,
        )
        .join(owner, owner.id == PatientIdentifier.patient_id)
        .order_by(PatientIdentifier.id)
        .execution_options(yield_per=10_000)
    )
    count = 0
    for authority, value, patient_id, link_source, state, score in rows:
        seen = set()
        while patient_id in redirect and patient_id not in seen:
            seen.add(patient_id)
            patient_id = redirect[patient_id]
        writer.writerow(
            (
                authority,
                value,
                patient_id,
                link_source,
                state,
                "" if score is None else round(score, 2),
            )
        )
        count += 1
    return count
