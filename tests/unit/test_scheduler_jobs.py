"""Every default scheduler job is a stored-job spec naming an importable module-level function."""

from __future__ import annotations

from apscheduler.util import ref_to_obj

from config.scheduler import JobSpec, default_jobs
from config.settings import Settings


def test_default_jobs_are_text_references_to_module_functions():
    jobs = default_jobs(Settings(mpi_sweep_minutes=15, gp_feed_hour=3))
    assert all(isinstance(j, JobSpec) for j in jobs)
    for job in jobs:
        assert callable(ref_to_obj(job.func)), job.func
    by_id = {j.id: j for j in jobs}
    assert {"journal-recovery", "consultant-morning-email", "mpi-sweep", "gp-feed"} <= set(by_id)
    assert by_id["mpi-sweep"].trigger == "interval"
    assert by_id["mpi-sweep"].trigger_args == {"minutes": 15}
    assert by_id["gp-feed"].trigger == "cron"
    assert by_id["gp-feed"].trigger_args == {"hour": 3, "minute": 0}


def test_hl7_jobs_are_scheduled():
    ids = {j.id for j in default_jobs()}
    assert {"journal-recovery", "journal-retention"} <= ids


def test_managers_weekly_email_runs_on_the_configured_day_and_hour():
    import pytest

    by_id = {
        j.id: j for j in default_jobs(Settings(managers_email_day="fri", managers_email_hour=7))
    }
    job = by_id["managers-weekly-email"]
    assert job.trigger == "cron"
    assert job.trigger_args == {"day_of_week": "fri", "hour": "7-9", "minute": "0,30"}
    with pytest.raises(ValueError, match="MANAGERS_EMAIL_DAY"):
        Settings(managers_email_day="friday")
