"""Tables the scheduler keeps in our own database: APScheduler's job store, the leader lease
and the last run of each job.

The job store table is declared here (with the same columns APScheduler creates) so that the
migration owns it and a schema comparison does not see a stranger in the database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Float, LargeBinary, String, Table, Text, Unicode
from sqlalchemy.orm import Mapped, mapped_column

from config.db import Base, UTCDateTime

SCHEDULER_JOB_TABLE = Table(
    "scheduler_job",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


class SchedulerLease(Base):
    """Who runs the scheduler: one row per lease name, held until ``expires_at``.

    A process may run jobs only while it holds an unexpired lease; a standby takes the row over
    once the holder stops renewing it (crash, network partition, shutdown).
    """

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SchedulerJobRun(Base):
    """The last run of each job (APScheduler 3 keeps only the next one)."""

    __tablename__ = "scheduler_job_run"

    job_id: Mapped[str] = mapped_column(String(191), primary_key=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(20), default="")  # ok | error | missed
    detail: Mapped[str] = mapped_column(Text, default="")
    holder: Mapped[str] = mapped_column(String(120), default="")
