"""Orders (a GP's blood test or x-ray request) and the results that answer them.

An order moves ordered -> performed -> reported (or cancelled). A result is kept whether or
not we know its order: a result for an unknown order is stored with no order, visible, never
dropped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from config.db import Base, UTCDateTime, utcnow

ORDERED, PERFORMED, REPORTED, CANCELLED = "ordered", "performed", "reported", "cancelled"
LAB, IMAGING = "lab", "imaging"
ROUTINE, URGENT, CRITICAL = "routine", "urgent", "critical"
ABNORMAL = "abnormal"  # a result flag (OBX-8 H/L/A): acknowledged in time, not escalated at once
FINAL_STATUSES = ("F", "C")  # OBR-25 final and corrected: a report someone must acknowledge


class Order(Base):
    __tablename__ = "clinical_order"
    __table_args__ = (
        UniqueConstraint("placer_system", "placer_order_number"),
        # A ward's snapshot loads its patients' orders placed since each admission.
        Index("ix_clinical_order_patient_ordered", "patient_id", "ordered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    placer_system: Mapped[str] = mapped_column(String(200))  # MSH-3|MSH-4 of the orderer
    placer_order_number: Mapped[str] = mapped_column(String(60), index=True)  # ORC-2 / OBR-2
    filler_order_number: Mapped[str | None] = mapped_column(String(60), index=True)
    service_code: Mapped[str] = mapped_column(String(60), default="")  # OBR-4.1
    service_text: Mapped[str] = mapped_column(String(200), default="")  # OBR-4.2
    ordering_practice: Mapped[str | None] = mapped_column(String(12))  # ODS code
    kind: Mapped[str] = mapped_column(String(12), default=LAB, server_default=LAB)
    modality: Mapped[str | None] = mapped_column(String(8))  # imaging: XR, CT, MR, US, NM ...
    priority: Mapped[str] = mapped_column(String(10), default=ROUTINE, server_default=ROUTINE)
    performed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default=ORDERED, index=True)
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    source: Mapped[str] = mapped_column(String(40), default="")
    # Who placed it: the signed-in clinician's username (web) or ORC-12's code (HL7).
    ordered_by: Mapped[str | None] = mapped_column(String(80))
    # Directed by a consultant (Seven Day Services standard 5 report times apply): a consultant
    # ordered it, a doctor said so on the form, or ORC-12 names a consultant in the layout.
    consultant_directed: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )

    results: Mapped[list[Result]] = relationship(back_populates="order")


class Result(Base):
    __tablename__ = "clinical_result"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("clinical_order.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    placer_order_number: Mapped[str] = mapped_column(String(60), default="")
    filler_order_number: Mapped[str] = mapped_column(String(60), default="")
    service_code: Mapped[str] = mapped_column(String(60), default="")
    service_text: Mapped[str] = mapped_column(String(200), default="")
    report_status: Mapped[str] = mapped_column(String(2), default="")  # OBR-25: P, F, C
    observations: Mapped[str] = mapped_column(Text, default="")  # one OBX per line
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(40), default="")
    # From OBX-8: critical (HH, LL, AA ...), abnormal (H, L, A ...) or routine.
    result_urgency: Mapped[str] = mapped_column(String(10), default=ROUTINE, server_default=ROUTINE)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(80))  # staff username

    order: Mapped[Order | None] = relationship(back_populates="results")
