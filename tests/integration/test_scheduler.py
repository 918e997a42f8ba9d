"""One scheduler across processes (the database lease), the persistent job store, a missed
run made up on start, and the jobs API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from config.db import utcnow
from config.scheduler import SchedulerLeader, job_store, list_jobs
from tests.integration.scheduler_worker import PROBE_ENV, probe_jobs
from whiteboard.models import SchedulerJobRun, SchedulerLease

ROOT = Path(__file__).resolve().parents[2]


def _wait_for(condition, what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


def _pids(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [int(line) for line in path.read_text().split()]


def _start_worker(database_url: str, probe: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.scheduler_worker", database_url, str(probe)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def test_two_processes_run_one_scheduler_and_the_standby_takes_over(database_url, tmp_path):
    probe = tmp_path / "probe.txt"
    first = _start_worker(database_url, probe)
    second = _start_worker(database_url, probe)
    workers = {first.pid: first, second.pid: second}
    try:
        _wait_for(lambda: len(_pids(probe)) >= 4, "the leader's probe runs")
        leader_pid = _pids(probe)[0]
        assert set(_pids(probe)) == {leader_pid}  # the other process ran nothing
        standby = workers[next(pid for pid in workers if pid != leader_pid)]
        assert standby.poll() is None  # alive, waiting as a standby

        workers[leader_pid].send_signal(signal.SIGKILL)  # a crash: no release of the lease
        workers[leader_pid].wait()
        before = len(_pids(probe))
        _wait_for(lambda: standby.pid in _pids(probe)[before - 1 :], "the standby to take over")
        _wait_for(lambda: _pids(probe).count(standby.pid) >= 3, "the new leader's runs")
        runs = _pids(probe)
        switch = runs.index(standby.pid)
        # Never interleaved: all of the old leader's runs, then only the new leader's.
        assert set(runs[:switch]) == {leader_pid}
        assert set(runs[switch:]) == {standby.pid}
    finally:
        for worker in workers.values():
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=30)


def _leader(services, **kwargs) -> SchedulerLeader:
    return SchedulerLeader(services, lease_seconds=5.0, renew_seconds=0.2, **kwargs)


def test_a_missed_run_within_the_grace_time_is_made_up_on_start(services, tmp_path, monkeypatch):
    probe = tmp_path / "probe.txt"
    monkeypatch.setenv(PROBE_ENV, str(probe))
    jobs = probe_jobs("cron", hour=7, minute=0)  # grace: 1 h
    first = _leader(services, jobs=jobs).start()
    _wait_for(lambda: first.is_leader, "the first leader")
    first.stop()
    # The server was "down" when the job was due 10 minutes ago.
    store = job_store(services)
    store.start(first.scheduler or _scheduler_stub(services), "default")
    job = store.lookup_job("probe")
    job._modify(next_run_time=utcnow() - timedelta(minutes=10))
    store.update_job(job)

    second = _leader(services, jobs=jobs).start()
    try:
        _wait_for(lambda: _pids(probe) == [os.getpid()], "the made-up run")
        _wait_for(lambda: _last_run(services) is not None, "the run to be recorded")
        listing = list_jobs(services)
    finally:
        second.stop()
    (entry,) = listing["jobs"]
    assert entry["id"] == "probe" and entry["last_outcome"] == "ok"
    assert "07:00:00" in entry["next_run_at"] or "08:00:00" in entry["next_run_at"]
    assert entry["next_run_at"] > utcnow().isoformat()


def test_a_run_missed_beyond_the_grace_time_is_skipped_and_recorded(
    services, tmp_path, monkeypatch
):
    probe = tmp_path / "probe.txt"
    monkeypatch.setenv(PROBE_ENV, str(probe))
    jobs = probe_jobs("cron", hour=7, minute=0)
    first = _leader(services, jobs=jobs).start()
    _wait_for(lambda: first.is_leader, "the first leader")
    first.stop()
    store = job_store(services)
    store.start(_scheduler_stub(services), "default")
    job = store.lookup_job("probe")
    job._modify(next_run_time=utcnow() - timedelta(hours=3))
    store.update_job(job)

    second = _leader(services, jobs=jobs).start()
    try:
        _wait_for(lambda: _last_run(services) is not None, "the miss to be recorded")
    finally:
        second.stop()
    assert _last_run(services) == "missed"
    assert _pids(probe) == []


def test_jobs_api_and_admin_page_list_last_and_next_runs(client_as, services):
    client = client_as("admin")
    leader = _leader(services).start()
    try:
        _wait_for(lambda: leader.is_leader, "leadership")
        body = client.get("/api/v1/admin/jobs").get_json()
        page = client.get("/admin/jobs")
    finally:
        leader.stop()
    ids = {job["id"] for job in body["jobs"]}
    assert {"journal-recovery", "consultant-morning-email"} <= ids
    email_job = next(j for j in body["jobs"] if j["id"] == "consultant-morning-email")
    assert email_job["misfire_grace_seconds"] == 3 * 3600
    assert email_job["next_run_at"] is not None
    assert body["leader"]["holder"] == leader.holder
    assert page.status_code == 200 and b"consultant-morning-email" in page.data
    with services.read_session() as s:
        lease = s.scalars(select(SchedulerLease)).one()
    assert lease.expires_at < utcnow()  # released on stop, so a standby need not wait


def _last_run(services) -> str | None:
    with services.read_session() as s:
        return s.scalars(select(SchedulerJobRun.outcome)).first()


def _scheduler_stub(services):
    from apscheduler.schedulers.background import BackgroundScheduler

    return BackgroundScheduler(timezone=services.settings.timezone)


pytestmark = pytest.mark.slow


def test_serve_wiring_reports_the_scheduler_role_in_healthz(client, services):
    leader = services.start_scheduler()
    _wait_for(lambda: leader.is_leader, "leadership")
    body = client.get("/healthz").get_json()
    assert body["scheduler"] == {"ok": True, "role": "leader", "holder": leader.holder}


def test_a_changed_schedule_replaces_the_stored_one(services, tmp_path, monkeypatch):
    monkeypatch.setenv(PROBE_ENV, str(tmp_path / "probe.txt"))
    first = _leader(services, jobs=probe_jobs("cron", hour=7, minute=0)).start()
    _wait_for(lambda: first.is_leader, "the first leader")
    first.stop()
    second = _leader(services, jobs=probe_jobs("cron", hour=8, minute=30)).start()
    try:
        _wait_for(lambda: second.is_leader, "the second leader")
        (entry,) = list_jobs(services)["jobs"]
    finally:
        second.stop()
    assert "hour='8'" in entry["trigger"] and "minute='30'" in entry["trigger"]
