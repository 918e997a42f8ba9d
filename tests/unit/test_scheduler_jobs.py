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
