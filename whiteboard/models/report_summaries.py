"""Summaries kept beside the record so manager reports over a year read a small table.

``observation_day_summary`` holds, per inpatient stay, local day and ward, the observation sets
that fell due there (see ``whiteboard.reports.observation_summary``), and
``observation_ward_day`` the same added up per day and ward. Both are derived data: they can
always be rebuilt from ``observation``, ``stay`` and ``bed_occupancy``, and
``observation_summary_state`` says for which time zone and rules they were built.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from config.db import Base, UTCDateTime, utcnow


class ObservationDaySummary(Base):
    __tablename__ = "observation_day_summary"
    __table_args__ = (
        Index("ix_observation_day_summary_day_ward", "day", "ward_id"),
        Index("ix_observation_day_summary_open_due_ms", "open_due_ms"),
    )

    stay_id: Mapped[int] = mapped_column(ForeignKey("stay.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # local day the sets fell due
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"), primary_key=True)
    on_time: Mapped[int] = mapped_column(default=0)
    late: Mapped[int] = mapped_column(default=0)
    continuous: Mapped[int] = mapped_column(default=0)  # counted on the day and ward taken
    # The stay's last set, when it falls due here with the patient still in: "not taken" once
    # this moment (ms since 1970 UTC) has passed, "not yet due" before; it depends on "now".
    open_due_ms: Mapped[int | None] = mapped_column(BigInteger)


class ObservationWardDay(Base):
    """``observation_day_summary`` added up per local day and ward (what the report reads): kept
    by adding each recounted stay's change, so a year is some 15,000 rows for 40 wards."""

    __tablename__ = "observation_ward_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"), primary_key=True)
    on_time: Mapped[int] = mapped_column(default=0)
    late: Mapped[int] = mapped_column(default=0)
    continuous: Mapped[int] = mapped_column(default=0)
    open_sets: Mapped[int] = mapped_column(default=0)  # rows with ``open_due_ms`` here


class ObservationSummaryState(Base):
    """One row: what the summary was built for, and whether it is complete."""

    __tablename__ = "observation_summary_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    basis: Mapped[str] = mapped_column(String(64))  # time zone and observation rules, hashed
    status: Mapped[str] = mapped_column(String(12))  # building | ready
    stays: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
