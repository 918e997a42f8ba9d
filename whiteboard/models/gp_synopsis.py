"""The GP record synopsis a practice shares, and each practice's authorisation to share it.

One synopsis per patient and practice is kept: the latest the practice sent (a newer one
replaces the rows of the older). Medications, allergies and significant events are child rows
so they export and query as tables. Whether anyone in the hospital may *read* a synopsis is a
separate fact, the practice's sharing authorisation: a row per authorisation, revoked by
stamping ``revoked_at``, so who allowed what and when stays on record.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from config.db import Base, UTCDateTime, utcnow


class GpSynopsis(Base):
    __tablename__ = "gp_synopsis"
    __table_args__ = (Index("ix_gp_synopsis_patient_practice", "patient_id", "practice_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    practice_code: Mapped[str] = mapped_column(String(12))  # ODS code of the sharing practice
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)  # when the practice took the summary
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(40), default="")  # hl7:<entry>, api:<user>, file

    medications: Mapped[list[GpSynopsisMedication]] = relationship(
        cascade="all, delete-orphan", order_by="GpSynopsisMedication.position"
    )
    allergies: Mapped[list[GpSynopsisAllergy]] = relationship(
        cascade="all, delete-orphan", order_by="GpSynopsisAllergy.position"
    )
    events: Mapped[list[GpSynopsisEvent]] = relationship(
        cascade="all, delete-orphan", order_by="GpSynopsisEvent.position"
    )


class GpSynopsisMedication(Base):
    __tablename__ = "gp_synopsis_medication"

    id: Mapped[int] = mapped_column(primary_key=True)
    synopsis_id: Mapped[int] = mapped_column(
        ForeignKey("gp_synopsis.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(200))
    dose: Mapped[str] = mapped_column(String(200), default="")
    started: Mapped[date | None] = mapped_column(Date)


class GpSynopsisAllergy(Base):
    __tablename__ = "gp_synopsis_allergy"

    id: Mapped[int] = mapped_column(primary_key=True)
    synopsis_id: Mapped[int] = mapped_column(
        ForeignKey("gp_synopsis.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    substance: Mapped[str] = mapped_column(String(200))
    reaction: Mapped[str] = mapped_column(String(200), default="")
    severity: Mapped[str] = mapped_column(
        String(12), default="unknown"
    )  # severe|moderate|mild|unknown


class GpSynopsisEvent(Base):
    """A significant event in the GP record: a diagnosis, an operation, a major life event."""

    __tablename__ = "gp_synopsis_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    synopsis_id: Mapped[int] = mapped_column(
        ForeignKey("gp_synopsis.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    event_date: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)


class GpSharingAuthorisation(Base):
    """A practice's permission for hospital clinicians to read its synopses; revocable."""

    __tablename__ = "gp_sharing_authorisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_code: Mapped[str] = mapped_column(String(12), index=True)
    authorised_by: Mapped[str] = mapped_column(String(200))  # the person at the practice
    recorded_by: Mapped[str] = mapped_column(String(80))  # the administrator who entered it
    authorised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(String(300), default="")
