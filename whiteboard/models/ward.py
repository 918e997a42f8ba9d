"""Wards, bays and beds: the physical layout a board draws."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from config.db import Base, UTCDateTime, utcnow

# HL7 table 0116 bed status.
BED_STATUS_TEXT = {
    "C": "Closed",
    "H": "Needs cleaning",
    "I": "Isolated",
    "K": "Contaminated",
    "O": "Occupied",
    "U": "Free",
}


class Ward(Base):
    __tablename__ = "ward"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10), default="ward")  # ward | ae | clinic
    specialty: Mapped[str | None] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(default=0)
    # Bumped in the same transaction as every change a board would show.
    version: Mapped[int] = mapped_column(default=0)

    bays: Mapped[list[Bay]] = relationship(back_populates="ward", order_by="Bay.position")
    beds: Mapped[list[Bed]] = relationship(back_populates="ward", order_by="Bed.position")


class Bay(Base):
    __tablename__ = "bay"
    __table_args__ = (UniqueConstraint("ward_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"))
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(default=0)

    ward: Mapped[Ward] = relationship(back_populates="bays")
    beds: Mapped[list[Bed]] = relationship(back_populates="bay", order_by="Bed.position")


class Bed(Base):
    __tablename__ = "bed"
    __table_args__ = (UniqueConstraint("ward_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"))
    bay_id: Mapped[int | None] = mapped_column(ForeignKey("bay.id"))
    code: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(1), default="U")
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ward: Mapped[Ward] = relationship(back_populates="beds")
    bay: Mapped[Bay | None] = relationship(back_populates="beds")

    def set_status(self, status: str, at: datetime) -> None:
        if status not in BED_STATUS_TEXT:
            raise ValueError(f"unknown bed status {status!r} (HL7 table 0116)")
        if status != self.status:
            self.status = status
            self.status_changed_at = at
