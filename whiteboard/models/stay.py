"""Stays (an admission, an A&E attendance or an outpatient visit) and bed occupancy intervals.

Each bed stay is kept as an interval (in, out) so occupancy reports can derive the midnight
census and fractional bed-days without replaying events.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from config.db import Base, UTCDateTime, utcnow
from mpi.models import Patient
from whiteboard.models.staff import Clinician
from whiteboard.models.ward import Bed, Ward

PATIENT_CLASS_STATUS = {"I": "inpatient", "E": "emergency", "O": "outpatient"}


class Stay(Base):
    __tablename__ = "stay"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    visit_number: Mapped[str | None] = mapped_column(String(40), index=True)
    patient_class: Mapped[str] = mapped_column(String(1))  # I inpatient, E emergency, O outpatient
    state: Mapped[str] = mapped_column(String(12), default="active", index=True)
    # active | discharged | cancelled | ended (an A&E attendance that became an admission)
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"), index=True)
    bed_id: Mapped[int | None] = mapped_column(ForeignKey("bed.id"))
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("clinician.id"))
    admitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    discharged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Leave of absence (A21 out, A22 back): the patient keeps the bed. On leave while
    # leave_started_at is set and leave_ended_at is not; A22 sets the end (kept, so an A53
    # "cancel the return" can put the patient back on the same leave), A52 clears both.
    leave_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leave_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    patient: Mapped[Patient] = relationship()
    ward: Mapped[Ward] = relationship()
    bed: Mapped[Bed | None] = relationship()
    clinician: Mapped[Clinician | None] = relationship()
    occupancies: Mapped[list[BedOccupancy]] = relationship(
        back_populates="stay", order_by="BedOccupancy.started_at"
    )

    @property
    def on_leave(self) -> bool:
        return self.leave_started_at is not None and self.leave_ended_at is None

    @property
    def status(self) -> str:
        return PATIENT_CLASS_STATUS.get(self.patient_class, "inpatient")


class BedOccupancy(Base):
    """One interval of a stay on one ward (in a bed, or on the ward without one)."""

    __tablename__ = "bed_occupancy"

    id: Mapped[int] = mapped_column(primary_key=True)
    stay_id: Mapped[int] = mapped_column(ForeignKey("stay.id"), index=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"), index=True)
    bed_id: Mapped[int | None] = mapped_column(ForeignKey("bed.id"), index=True)
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("clinician.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    stay: Mapped[Stay] = relationship(back_populates="occupancies")
