"""Who may use the system: staff accounts, ward kiosks, card-reader workstations, sign-ons.

Secrets are never stored: PINs and passwords as Argon2 hashes, kiosk tokens and workstation
secrets (long random strings) as SHA-256, so a copy of the database signs nobody on.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from config.db import Base, UTCDateTime, utcnow


class StaffUser(Base):
    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    card_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    gp_practice_code: Mapped[str | None] = mapped_column(String(12))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KioskToken(Base):
    """A wall board's credential: one ward, read-only, revocable without touching any staff."""

    __tablename__ = "kiosk_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    ward_code: Mapped[str] = mapped_column(String(20), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Workstation(Base):
    """A PC with a card reader; its local agent reports card in/out with the shared secret."""

    __tablename__ = "workstation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignOn(Base):
    """One signed-on session; ending it (card out, sign-off, idle) ends it on every screen."""

    __tablename__ = "sign_on"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    workstation: Mapped[str] = mapped_column(String(64), default="")
    method: Mapped[str] = mapped_column(String(12))  # card, password, agent
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(20))
    ticket_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    ticket_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[StaffUser] = relationship()


class PatientPrivacy(Base):
    """How a patient appears on corridor boards: initials only, or an alias when confidential.

    Kept beside the patient row (not on it) so privacy is owned here and the MPI stays about
    identity.
    """

    __tablename__ = "patient_privacy"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), primary_key=True)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    initials_only: Mapped[bool] = mapped_column(Boolean, default=False)
    alias: Mapped[str | None] = mapped_column(String(100))
