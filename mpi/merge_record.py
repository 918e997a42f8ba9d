"""What a merge moved, kept so that an unmerge can restore both records exactly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from config.db import Base, UTCDateTime, utcnow


class MergeRecord(Base):
    __tablename__ = "mpi_merge"

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    merged_by: Mapped[str] = mapped_column(String(80), default="")
    reason: Mapped[str] = mapped_column(String(200), default="")
    # {"survivor": {...fields...}, "merged": {...fields...}} before the merge
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {"table.column": [row ids moved from merged to survivor], ...}
    moved: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    unmerged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unmerged_by: Mapped[str | None] = mapped_column(String(80))
