"""The background scheduler: APScheduler 3 with its jobs in our database, one leader at a time.

Why a lease: every web/MLLP process may start a scheduler, but a 07:00 email must go out once.
Each process runs a ``SchedulerLeader`` that tries to hold the ``scheduler_lease`` row (an
UPDATE that only succeeds for the current holder or once the lease has expired). Only the
holder runs an APScheduler instance; a standby keeps trying and takes over within one lease
period after the holder dies. The holder stops its scheduler as soon as a renewal fails, and
renews well before expiry, so two schedulers never run at once while clocks agree to within
``lease_seconds - renew_seconds``.

Why the persistent job store: the next run time survives a restart, so a run missed while the
server was down (07:00) is made up on start when it is within the job's ``misfire_grace_time``
(several missed runs coalesce into one).

Jobs are module-level functions named by text reference so that the job store can keep them;
they reach the running services through ``current_services()``, set by the leader before the
scheduler starts.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import MetaData, insert, select, update
from sqlalchemy.exc import IntegrityError

from config.db import utcnow
from config.settings import Settings
from whiteboard.models.scheduling import SCHEDULER_JOB_TABLE, SchedulerJobRun, SchedulerLease

if TYPE_CHECKING:
    from config.bootstrap import Services

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
_services: Services | None = None


def current_services() -> Services:
    """The services of the process that holds the lease (jobs call this)."""
    if _services is None:
        raise RuntimeError("no scheduler is running in this process")
    return _services


# ---- jobs -------------------------------------------------------------------------------


def run_journal_recovery() -> None:
    current_services().pipeline.recover()


def run_board_alert_repush() -> None:
    current_services().publisher.repush_changed_alerts()


def run_journal_retention() -> None:
    """Hourly; does nothing unless WARDBOARD_HL7_JOURNAL_RETENTION_DAYS is above 0."""
    services = current_services()
    if services.settings.hl7_journal_retention_days > 0:
        purge_journal(services)


def run_consultant_emails() -> None:
    from whiteboard.reports.consultant_email import send_consultant_emails

    services = current_services()
    send_consultant_emails(services, report_date=None, dry_run=False)


def run_managers_email() -> None:
    from whiteboard.reports.managers_email import send_managers_email

    send_managers_email(current_services())


def run_observation_summary() -> None:
    """Build the "observations on time" summary when it is missing or was built for another
    time zone or other observation rules; otherwise nothing (units of work keep it current)."""
    from zoneinfo import ZoneInfo

    from whiteboard.reports import observation_summary

    services = current_services()
    tz = ZoneInfo(services.settings.timezone)
    rules = services.settings.clinical
    with services.engine.connect() as conn:
        if not observation_summary.needs_build(conn, tz, rules):
            return
    log.info("observation summary: building")
    rows = observation_summary.build(
        lambda: observation_summary.write_transaction(services.uow_factory),
        tz,
        rules,
        lambda done, total: log.info("observation summary: %d/%d stays", done, total),
    )
    log.info("observation summary: ready, %d stay-day rows", rows)


def run_mpi_sweep() -> None:
    from mpi.sweep import run_sweep

    result = run_sweep(current_services())
    log.info("MPI sweep: %s", result.as_dict())


def run_gp_feed() -> None:
    from pathlib import Path

    from mpi.gp_feed import import_folder

    services = current_services()
    for run in import_folder(services, Path(services.settings.gp_feed_folder)):
        log.info("GP feed %s: %s %s", run.file_name, run.state, run.counts)


def run_hl7_batch_folder() -> None:
    """Import HL7 batch files dropped in WARDBOARD_HL7_BATCH_FOLDER (when set)."""
    from pathlib import Path

    from integration.batch_folder import poll_folder

    services = current_services()
    if services.settings.hl7_batch_folder:
        poll_folder(services.pipeline, Path(services.settings.hl7_batch_folder))


@dataclass(frozen=True)
class JobSpec:
    """One job: its function (``module:function``), trigger and how a missed run is treated."""

    id: str
    func: str
    name: str
    trigger: str
    trigger_args: dict[str, Any]
    misfire_grace_time: int | None = 60
    coalesce: bool = True


def default_jobs(settings: Settings | None = None) -> list[JobSpec]:
    """The jobs a leader runs; the MPI sweep interval and GP-feed hour come from ``settings``."""
    settings = settings or Settings()
    return [
        JobSpec(
            id="journal-recovery",
            func="config.scheduler:run_journal_recovery",
            name="Apply journalled messages that were not applied",
            trigger="interval",
            trigger_args={"seconds": 60},
            misfire_grace_time=60,
        ),
        JobSpec(
            id="board-alert-repush",
            func="config.scheduler:run_board_alert_repush",
            name="Re-push boards whose time-based alerts changed",
            trigger="interval",
            trigger_args={"seconds": 60},
            misfire_grace_time=60,
        ),
        JobSpec(
            id="journal-retention",
            func="config.scheduler:run_journal_retention",
            name="Delete applied and rejected HL7 messages past the retention period",
            trigger="interval",
            trigger_args={"hours": 1},
            misfire_grace_time=3600,
        ),
        JobSpec(
            id="consultant-morning-email",
            func="config.scheduler:run_consultant_emails",
            name="07:00 email to each consultant (retries unsent ones until 10:00)",
            trigger="cron",
            # 07:00, then every 20 minutes until 09:40: each run sends only what is not yet
            # logged as sent, so a relay that was down at 07:00 costs nobody their email.
            trigger_args={"hour": "7-9", "minute": "0,20,40"},
            # A run missed while the server was down is made up on start, within 3 hours.
            misfire_grace_time=3 * 3600,
        ),
        JobSpec(
            id="managers-weekly-email",
            func="config.scheduler:run_managers_email",
            name="Weekly email to managers: last week's figures and trend charts",
            trigger="cron",
            # At the configured hour, then every 30 minutes for two hours: each run sends only
            # what is not yet logged as sent for that week.
            trigger_args={
                "day_of_week": settings.managers_email_day,
                "hour": f"{settings.managers_email_hour}-{settings.managers_email_hour + 2}",
                "minute": "0,30",
            },
            misfire_grace_time=6 * 3600,
        ),
        JobSpec(
            id="mpi-sweep",
            func="config.scheduler:run_mpi_sweep",
            name="Re-match records created in A&E in the last 24 hours",
            trigger="interval",
            trigger_args={"minutes": settings.mpi_sweep_minutes},
            # The sweep looks back 24 hours, so a late run misses nothing: always run it.
            misfire_grace_time=None,
        ),
        JobSpec(
            id="gp-feed",
            func="config.scheduler:run_gp_feed",
            name="Import the nightly GP feed from the drop folder",
            trigger="cron",
            trigger_args={"hour": settings.gp_feed_hour, "minute": 0},
            # Files stay in the folder until imported; a run missed while the server was down
            # is made up on start within 6 hours.
            misfire_grace_time=6 * 3600,
        ),
        JobSpec(
            id="observation-summary",
            func="config.scheduler:run_observation_summary",
            name="Build the observations-on-time summary when missing or stale",
            trigger="interval",
            trigger_args={"minutes": 15},
            misfire_grace_time=None,
        ),
        JobSpec(
            id="hl7-batch-folder",
            func="config.scheduler:run_hl7_batch_folder",
            name="Import HL7 batch files from the drop folder",
            trigger="interval",
            trigger_args={"seconds": max(5, settings.hl7_batch_poll_seconds)},
            misfire_grace_time=None,
        ),
    ]


def job_store(services: Services) -> SQLAlchemyJobStore:
    store = SQLAlchemyJobStore(engine=services.engine, metadata=MetaData())
    store.jobs_t = SCHEDULER_JOB_TABLE  # the migration's table, not a second definition
    return store


def build_scheduler(services: Services) -> BackgroundScheduler:
    """A scheduler on the database job store; jobs are added by ``start_jobs``."""
    scheduler = BackgroundScheduler(
        jobstores={"default": job_store(services)},
        timezone=services.settings.timezone,
        job_defaults={"max_instances": 1},
    )
    return scheduler


def start_jobs(scheduler: BackgroundScheduler, jobs: list[JobSpec]) -> None:
    """Start paused, add only jobs the store lacks, then resume.

    Replacing a stored job would compute its next run from now and lose a missed 07:00, so a
    stored job keeps its next run time; only a job whose schedule changed is rescheduled.
    """
    scheduler.start(paused=True)
    for spec in jobs:
        existing = scheduler.get_job(spec.id)
        if existing is None:
            scheduler.add_job(
                spec.func,
                spec.trigger,
                id=spec.id,
                name=spec.name,
                misfire_grace_time=spec.misfire_grace_time,
                coalesce=spec.coalesce,
                **spec.trigger_args,
            )
        else:
            scheduler.modify_job(
                spec.id,
                func=spec.func,
                name=spec.name,
                misfire_grace_time=spec.misfire_grace_time,
                coalesce=spec.coalesce,
            )
            wanted = scheduler._create_trigger(spec.trigger, dict(spec.trigger_args))
            if str(wanted) != str(existing.trigger):
                # A changed schedule (a new release): its next run is computed afresh.
                scheduler.reschedule_job(spec.id, trigger=wanted)
    scheduler.resume()


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def try_acquire(services: Services, holder: str, lease_seconds: float) -> bool:
    """Take or renew the lease; True while this holder has it."""
    now = utcnow()
    expires = now + timedelta(seconds=lease_seconds)
    with services.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
        with conn.begin():
            taken = conn.execute(
                update(SchedulerLease)
                .where(SchedulerLease.name == LEASE_NAME)
                .where((SchedulerLease.holder == holder) | (SchedulerLease.expires_at < now))
                .values(holder=holder, expires_at=expires)
            ).rowcount
            if taken:
                return True
            exists = conn.execute(
                select(SchedulerLease.name).where(SchedulerLease.name == LEASE_NAME)
            ).first()
            if exists:
                return False
        try:
            with conn.begin():
                conn.execute(
                    insert(SchedulerLease).values(
                        name=LEASE_NAME, holder=holder, acquired_at=now, expires_at=expires
                    )
                )
            return True
        except IntegrityError:
            return False


def release(services: Services, holder: str) -> None:
    with services.engine.begin() as conn:
        conn.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == holder)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


@dataclass
class SchedulerLeader:
    """Holds the lease and runs the scheduler only while it does."""

    services: Services
    jobs: list[JobSpec] | None = None  # default: default_jobs(services.settings)
    lease_seconds: float = 30.0
    renew_seconds: float = 10.0
    holder: str = field(default_factory=holder_id)
    on_change: Callable[[bool], None] | None = None
    scheduler: BackgroundScheduler | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        if self.jobs is None:
            self.jobs = default_jobs(self.services.settings)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def is_leader(self) -> bool:
        return self.scheduler is not None

    def start(self) -> SchedulerLeader:
        self._thread = threading.Thread(target=self._loop, name="scheduler-lease", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.renew_seconds + 5)
        if self.is_leader:
            self._step_down()
            release(self.services, self.holder)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                held = try_acquire(self.services, self.holder, self.lease_seconds)
            except Exception:
                log.exception("scheduler lease check failed; standing down")
                held = False
            took = time.monotonic() - started
            if held and took >= self.lease_seconds - self.renew_seconds:
                # The renewal was so slow (a locked or distant database) that the lease may
                # lapse before the next one: stand down rather than risk two schedulers.
                log.warning("scheduler lease renewal took %.1f s; standing down", took)
                held = False
            if held and not self.is_leader and not self._stop.is_set():
                self._lead()
            elif not held and self.is_leader:
                self._step_down()
            self._stop.wait(self.renew_seconds)

    def _lead(self) -> None:
        global _services
        _services = self.services
        scheduler = build_scheduler(self.services)
        scheduler.add_listener(
            self._record_run, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED
        )
        start_jobs(scheduler, self.jobs or [])
        self.scheduler = scheduler
        log.info("scheduler started (lease holder %s)", self.holder)
        if self.on_change:
            self.on_change(True)

    def _step_down(self) -> None:
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=False)
            log.warning("scheduler stopped (lease lost or released by %s)", self.holder)
        if self.on_change:
            self.on_change(False)

    def _record_run(self, event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            outcome, detail = "missed", "missed beyond the grace time"
        elif event.exception is not None:
            outcome, detail = "error", f"{type(event.exception).__name__}: {event.exception}"
        else:
            outcome, detail = "ok", ""
        try:
            with self.services.uow_factory() as uow:
                row = uow.session.get(SchedulerJobRun, event.job_id)
                if row is None:
                    row = SchedulerJobRun(job_id=event.job_id)
                    uow.session.add(row)
                row.last_run_at = utcnow()
                row.scheduled_for = event.scheduled_run_time
                row.outcome = outcome
                row.detail = detail[:2000]
                row.holder = self.holder
                uow.commit()
        except Exception:
            log.exception("could not record the run of %s", event.job_id)


def list_jobs(services: Services) -> dict[str, Any]:
    """Every stored job with its last and next run, and who holds the lease (for the admin
    page): read from the database, so any process can answer, leader or not."""
    store = job_store(services)
    store.start(BackgroundScheduler(timezone=services.settings.timezone), "default")
    stored = store.get_all_jobs()
    with services.read_session() as session:
        runs = {r.job_id: r for r in session.scalars(select(SchedulerJobRun))}
        lease = session.get(SchedulerLease, LEASE_NAME)
    now = utcnow()
    jobs = []
    for job in stored:
        run = runs.get(job.id)
        jobs.append(
            {
                "id": job.id,
                "name": job.name,
                "trigger": str(job.trigger),
                "next_run_at": _iso(job.next_run_time),
                "last_run_at": _iso(run.last_run_at) if run else None,
                "last_scheduled_for": _iso(run.scheduled_for) if run else None,
                "last_outcome": run.outcome if run else None,
                "last_detail": run.detail if run else None,
                "misfire_grace_seconds": job.misfire_grace_time,
            }
        )
    return {
        "leader": (
            {
                "holder": lease.holder,
                "expires_at": _iso(lease.expires_at),
                "active": lease.expires_at > now,
            }
            if lease
            else None
        ),
        "jobs": jobs,
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def purge_journal(services: Services) -> int:
    """One retention pass: everything past the period, a batch per transaction."""
    from integration.journal import purge

    cutoff = utcnow() - timedelta(days=services.settings.hl7_journal_retention_days)
    total = 0
    while True:
        with services.uow_factory() as uow:
            n = purge(uow.session, cutoff)
            uow.commit()
        total += n
        if n == 0:
            return total
