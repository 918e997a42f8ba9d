"""Demographic history and the blocking-key index of every enterprise patient.

Previous names and addresses stay searchable (a married woman's maiden name, the house a
patient left), and the blocking keys computed from current *and* previous demographics are
stored in an indexed table so that a search touches only the records sharing a key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from config.db import Base, UTCDateTime, utcnow


class PatientName(Base):
    __tablename__ = "mpi_patient_name"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    family_name: Mapped[str] = mapped_column(String(100), default="")
    given_names: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(40), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PatientAddress(Base):
    __tablename__ = "mpi_patient_address"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    postcode: Mapped[str | None] = mapped_column(String(10), index=True)
    source: Mapped[str] = mapped_column(String(40), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BlockingKey(Base):
    """One row per (key, patient): the index a search looks candidates up in.

    The (key, patient) uniqueness is a unique *index* rather than a table constraint so that
    a first load of the GP feed on SQLite can build it once after the rows are in (SQLite
    cannot drop a constraint's index; see ``mpi.feed_indexes``)."""

    __tablename__ = "mpi_blocking_key"
    __table_args__ = (
        Index("uq_mpi_blocking_key_key_patient_id", "key", "patient_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
