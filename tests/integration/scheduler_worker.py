"""A process that competes for the scheduler lease, for the two-process test.

Run as ``python -m tests.integration.scheduler_worker DATABASE_URL PROBE_FILE``; while it leads,
its probe job appends its pid to PROBE_FILE every second.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from config.bootstrap import bootstrap
from config.scheduler import JobSpec, SchedulerLeader
from config.settings import Settings

PROBE_ENV = "WARDBOARD_TEST_PROBE_FILE"


def probe() -> None:
    with open(os.environ[PROBE_ENV], "a", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()}\n")


def probe_jobs(trigger: str = "interval", **trigger_args: object) -> list[JobSpec]:
    return [
        JobSpec(
            id="probe",
            func="tests.integration.scheduler_worker:probe",
            name="probe",
            trigger=trigger,
            trigger_args=trigger_args or {"seconds": 1},
            misfire_grace_time=3600,
        )
    ]


def main() -> None:
    url, probe_file = sys.argv[1], sys.argv[2]
    os.environ[PROBE_ENV] = probe_file
    services = bootstrap(Settings(database_url=url, board_push_enabled=False))
    leader = SchedulerLeader(services, jobs=probe_jobs(), lease_seconds=3.0, renew_seconds=0.5)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    leader.start()
    print("started", flush=True)
    stop.wait()
    leader.stop()
    services.stop()


if __name__ == "__main__":
    main()
