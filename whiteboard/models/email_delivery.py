"""The delivery log of every email Wardboard sends (or would send, in a dry run)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from config.db import Base, UTCDateTime, utcnow


class EmailDelivery(Base):
    """One email to one recipient for one report date.

    ``(kind, clinician_id, report_date)`` with status ``sent`` means that email went out, so a
    re-run (a missed 07:00 made up, a second scheduler after a lease handover) does not send it
    twice.
    """

    __tablename__ = "email_delivery"
    __table_args__ = (Index("ix_email_delivery_report", "kind", "report_date", "clinician_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # consultant_morning
    report_date: Mapped[date] = mapped_column(Date)
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("clinician.id"))
    recipient: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))  # sent | failed | dry_run
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
