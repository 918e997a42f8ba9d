"""Reading the record back in tests."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from integration.journal import InboundMessage
from mpi.models import Patient
from whiteboard.models import Bed, BedOccupancy, Stay, Ward


def bed_status(services, ward: str, bed: str) -> str:
    with services.read_session() as s:
        return s.scalars(
            select(Bed.status).join(Ward).where(Ward.code == ward).where(Bed.code == bed)
        ).one()


def stays(services, state: str | None = None) -> list[tuple[str, str, str | None, str]]:
    """(patient family name, ward, bed, state) for every stay."""
    with services.read_session() as s:
        query = select(Stay).order_by(Stay.id)
        if state:
            query = query.where(Stay.state == state)
        return [
            (st.patient.family_name, st.ward.code, st.bed.code if st.bed else None, st.state)
            for st in s.scalars(query)
        ]


def occupancies(services) -> list[tuple[str, str | None, bool]]:
    """(ward, bed, still open) for every occupancy interval, in order."""
    with services.read_session() as s:
        rows = s.execute(
            select(Ward.code, Bed.code, BedOccupancy.ended_at)
            .join(Ward, Ward.id == BedOccupancy.ward_id)
            .outerjoin(Bed, Bed.id == BedOccupancy.bed_id)
            .order_by(BedOccupancy.id)
        ).all()
    return [(ward, bed, ended is None) for ward, bed, ended in rows]


def patients(services) -> list[Patient]:
    with services.read_session() as s:
        found = list(
            s.scalars(
                select(Patient).options(selectinload(Patient.identifiers)).order_by(Patient.id)
            )
        )
    return found


def journal(services) -> list[InboundMessage]:
    with services.read_session() as s:
        return list(s.scalars(select(InboundMessage).order_by(InboundMessage.id)))
