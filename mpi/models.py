"""Patients and their identifiers.

A patient row is the enterprise record (one per person); each system's own number for that
person hangs off it as a ``PatientIdentifier`` with its assigning authority. An identifier row
is also the *link record*: how it came to hang off this patient (exact, probabilistic, manual,
GP feed), with what score and in which state, so a wrong link can be found and undone.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from config.db import Base, UTCDateTime, utcnow

NHS_AUTHORITY = "NHS"


class Patient(Base):
    __tablename__ = "patient"

    id: Mapped[int] = mapped_column(primary_key=True)
    nhs_number: Mapped[str | None] = mapped_column(String(10), index=True)
    family_name: Mapped[str] = mapped_column(String(100), default="")
    given_names: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str | None] = mapped_column(String(20))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    address: Mapped[str | None] = mapped_column(String(300))
    postcode: Mapped[str | None] = mapped_column(String(10), index=True)
    gp_practice_code: Mapped[str | None] = mapped_column(String(12))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    # An A&E stand-in ("Unknown Male", an estimated birth date): allowed, never auto-linked
    # on its own evidence, and re-checked by the 24-hour sweep.
    placeholder: Mapped[bool] = mapped_column(Boolean, default=False)
    dob_placeholder: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where the record was first created ("AE" for an A&E registration): the sweep's input.
    created_origin: Mapped[str | None] = mapped_column(String(10), index=True)
    rechecked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    identifiers: Mapped[list[PatientIdentifier]] = relationship(
        back_populates="patient", cascade="all, delete-orphan"
    )

    @property
    def display_name(self) -> str:
        """Surname in capitals then forenames: how UK wards write a name on a board."""
        return f"{self.family_name.upper()}, {self.given_names}".strip(", ")


class PatientIdentifier(Base):
    __tablename__ = "patient_identifier"
    __table_args__ = (UniqueConstraint("authority", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    authority: Mapped[str] = mapped_column(String(40))
    id_type: Mapped[str] = mapped_column(String(10), default="")
    value: Mapped[str] = mapped_column(String(40))
    # False for an NHS number that fails validation: kept (it is what the sender said) and
    # shown to clerks, never used to find or link anyone.
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    link_source: Mapped[str] = mapped_column(String(20), default="exact")
    link_state: Mapped[str] = mapped_column(String(20), default="linked")
    link_score: Mapped[float | None] = mapped_column(Float)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A digest of the feed row last applied through this identifier (GP feed): an identical row
    # the next night is skipped without touching the record.
    source_hash: Mapped[str | None] = mapped_column(String(32))

    patient: Mapped[Patient] = relationship(back_populates="identifiers")
