"""Nurse allocation: for each shift the nurse in charge gives each nurse bays or single beds.

This is how UK wards staff a shift: the nurse in charge allocates nurses to bays (or to
individual beds, typically side rooms or a patient needing one-to-one care). One
``NurseShiftAllocation`` per ward, shift date and shift (day or night) says who is in charge
and who set it; its ``NurseAllocation`` rows say which nurse has which bay or bed. Setting a
shift's allocation again replaces its rows, so the record is always the allocation as last
set (who set it and when is kept, and every change is in the audit log).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from config.db import Base, UTCDateTime, utcnow

SHIFTS = ("day", "night")


class NurseShiftAllocation(Base):
    __tablename__ = "nurse_shift_allocation"
    __table_args__ = (
        UniqueConstraint("ward_id", "shift_date", "shift"),
        CheckConstraint("shift IN ('day', 'night')", name="shift_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"))
    # The local date the shift starts on (a night shift starting 19:30 on the 1st is the 1st's).
    shift_date: Mapped[date] = mapped_column(Date, index=True)
    shift: Mapped[str] = mapped_column(String(5))
    nurse_in_charge_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    set_by: Mapped[str] = mapped_column(String(64))  # the signed-on username
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rows: Mapped[list[NurseAllocation]] = relationship(
        back_populates="allocation", cascade="all, delete-orphan", order_by="NurseAllocation.id"
    )


class NurseAllocation(Base):
    """One nurse given one bay or one bed (exactly one of the two) for the shift."""

    __tablename__ = "nurse_allocation"
    __table_args__ = (CheckConstraint("(bay_id IS NULL) <> (bed_id IS NULL)", name="bay_or_bed"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    allocation_id: Mapped[int] = mapped_column(ForeignKey("nurse_shift_allocation.id"), index=True)
    nurse_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    bay_id: Mapped[int | None] = mapped_column(ForeignKey("bay.id"))
    bed_id: Mapped[int | None] = mapped_column(ForeignKey("bed.id"))

    allocation: Mapped[NurseShiftAllocation] = relationship(back_populates="rows")
