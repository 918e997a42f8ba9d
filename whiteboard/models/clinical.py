"""The clinical record behind the board's alerts: assessments, observations, discharge plans,
referrals, who was responsible when, and booked outpatient visits.

Each row keeps who recorded it (the acting clinician's code) because every one of these is an
action a named person takes and may have to account for.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import Date, ForeignKey, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column

from config.db import Base, UTCDateTime, utcnow


class VteAssessment(Base):
    __tablename__ = "vte_assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    stay_id: Mapped[int] = mapped_column(ForeignKey("stay.id"), index=True)
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assessed_by: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(200), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Observation(Base):
    """One set of observations with the NEWS2 total and band computed when it was recorded."""

    __tablename__ = "observation"

    id: Mapped[int] = mapped_column(primary_key=True)
    stay_id: Mapped[int] = mapped_column(ForeignKey("stay.id"), index=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    respiration_rate: Mapped[int | None]
    spo2: Mapped[int | None]
    spo2_scale: Mapped[int] = mapped_column(default=1)
    on_oxygen: Mapped[bool | None]
    systolic_bp: Mapped[int | None]
    pulse: Mapped[int | None]
    consciousness: Mapped[str | None] = mapped_column(String(1))
    temperature: Mapped[float | None]
    news2_total: Mapped[int | None]
    news2_band: Mapped[str | None] = mapped_column(String(12))
    recorded_by: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StayPlan(Base):
    """The plan for one stay: decision to admit, EDD and its review, discharge criteria,
    discharge pathway (0-3), criteria-to-reside codes and post-discharge needs.

    Lists are stored as comma-separated codes: they are short, read whole and never queried
    by element, and this keeps SQLite and PostgreSQL identical.
    """

    __tablename__ = "stay_plan"

    stay_id: Mapped[int] = mapped_column(ForeignKey("stay.id"), primary_key=True)
    decision_to_admit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    edd: Mapped[date | None] = mapped_column(Date)
    edd_time: Mapped[time | None] = mapped_column(Time)
    edd_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    edd_reviewed_by: Mapped[str | None] = mapped_column(String(40))
    next_review_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discharge_criteria: Mapped[str] = mapped_column(Text, default="")
    pathway: Mapped[int | None]
    criteria_to_reside: Mapped[str] = mapped_column(String(200), default="")
    post_discharge_needs: Mapped[str] = mapped_column(String(200), default="")
    # Kept by the handlers so a board reads one row per stay, no aggregate: the latest VTE
    # assessment time and the observation set with the latest ``taken_at`` (not the latest
    # recorded: a set entered late for an earlier time does not replace a newer one).
    vte_assessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    latest_observation_id: Mapped[int | None] = mapped_column(ForeignKey("observation.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def needs(self) -> tuple[str, ...]:
        return split_codes(self.post_discharge_needs)

    @property
    def reside_codes(self) -> tuple[str, ...]:
        return split_codes(self.criteria_to_reside)


class Referral(Base):
    """A community referral task for one post-discharge need.

    Created when a stay with that need gets an EDD (``due_at`` timed back from it); ``sent_at``
    when a clinician makes the referral; ``picked_up_at`` when the community team takes it.
    """

    __tablename__ = "referral"

    id: Mapped[int] = mapped_column(primary_key=True)
    stay_id: Mapped[int] = mapped_column(ForeignKey("stay.id"), index=True)
    need: Mapped[str] = mapped_column(String(40))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_by: Mapped[str | None] = mapped_column(String(40))
    picked_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    picked_up_by: Mapped[str | None] = mapped_column(String(40))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ResponsibleClinician(Base):
    """From ``from_time`` until the next row, this clinician was responsible for the stay.

    Breaches are attributed to whoever was responsible when the threshold passed, not to
    whoever happens to hold the patient when someone looks.
    """

    __tablename__ = "responsible_clinician"

    id: Mapped[int] = mapped_column(primary_key=True)
    stay_id: Mapped[int] = mapped_column(ForeignKey("stay.id"), index=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinician.id"))
    from_time: Mapped[datetime] = mapped_column(UTCDateTime)


class OutpatientBooking(Base):
    """A booked visit to a ward (a clinic on the ward, a day-case review): the patient shows as
    visiting that ward's board on the day."""

    __tablename__ = "outpatient_booking"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"), index=True)
    visit_date: Mapped[date] = mapped_column(Date, index=True)
    visit_time: Mapped[time | None] = mapped_column(Time)
    reason: Mapped[str] = mapped_column(String(200), default="")
    booked_by: Mapped[str] = mapped_column(String(40))
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def split_codes(raw: str | None) -> tuple[str, ...]:
    return tuple(part for part in (raw or "").split(",") if part)


def join_codes(codes: tuple[str, ...] | list[str]) -> str:
    return ",".join(dict.fromkeys(c.strip() for c in codes if c.strip()))
