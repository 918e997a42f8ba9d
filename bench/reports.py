"""Benchmark: a 1,000-bed hospital with a year of history, its 07:00 emails and report pages.

    python -m bench.reports [--beds 1000] [--days 365] [--out /tmp/wardboard-bench.sqlite]

Generates the hospital straight into SQLite (bulk inserts, with progress), then measures:
- baseline: a bare ``SELECT COUNT(*) FROM stay`` (median of 5), the floor any query pays;
- every consultant's 07:00 email built and handed to a local aiosmtpd server (target <= 30 s);
- every manager report page, CSV and PNG chart for the default 12 weeks and for a full year
  (target <= 1 s a page), through the Flask app signed on as a manager;
- the managers' weekly email built (five reports over 12 weeks and their charts).
Observation sets (every 3-13 h) are generated for the whole history (``--obs-days``, default
365; about a million sets), then the "observations on time" summary is built (timed, with
progress) and the report is counted both from the summary and directly, checked equal and timed;
decisions to admit for a third of A&E attendances.
Figures are printed with their ratio to the baseline. The data is synthetic and seeded.
"""

from __future__ import annotations

import argparse
import math
import random
import socket
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from config.clinical import ClinicalRules
from config.db import make_engine
from config.migrate import upgrade
from config.settings import Settings
from mpi.models import Patient
from whiteboard.alerts.facts import ObservationSet
from whiteboard.alerts.news2 import score_news2
from whiteboard.board.snapshot import age_on
from whiteboard.models import (
    Bay,
    Bed,
    BedOccupancy,
    Clinician,
    Observation,
    Stay,
    StayPlan,
    VteAssessment,
    Ward,
)

TZ = ZoneInfo("Europe/London")
SENT_ON = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 7, 0, tzinfo=TZ).astimezone(UTC)
CHUNK = 10_000


def progress(label: str, done: int, total: int) -> None:
    sys.stdout.write(f"\r  {label}: {done:,}/{total:,} ({100 * done // max(total, 1)}%)")
    sys.stdout.flush()
    if done >= total:
        sys.stdout.write("\n")


def _insert(conn, table, rows: list[dict], label: str) -> None:  # type: ignore[no-untyped-def]
    for start in range(0, len(rows), CHUNK):
        conn.execute(table.insert(), rows[start : start + CHUNK])
        progress(label, min(start + CHUNK, len(rows)), len(rows))


def generate(path: Path, beds: int, days: int, obs_days: int, seed: int = 7) -> dict[str, int]:
    """A hospital of ``beds`` beds (25 a ward), 6 consultants a ward, ``days`` of history."""
    rng = random.Random(seed)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    start = NOW - timedelta(days=days)
    n_wards = math.ceil(beds / 25)
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        wards = [
            {"id": 1, "code": "AE", "name": "Emergency Department", "kind": "ae", "position": 0}
        ]
        wards += [
            {
                "id": i + 2,
                "code": f"W{i + 1:02d}",
                "name": f"Ward {i + 1}",
                "kind": "ward",
                "position": i + 1,
            }
            for i in range(n_wards)
        ]
        conn.execute(Ward.__table__.insert(), wards)
        conn.execute(
            Bay.__table__.insert(),
            [{"id": w["id"], "ward_id": w["id"], "code": "A", "name": "Bay A"} for w in wards],
        )
        bed_rows = []
        for i in range(beds):
            ward_id = 2 + i // 25
            bed_rows.append(
                {
                    "id": i + 1,
                    "ward_id": ward_id,
                    "bay_id": ward_id,
                    "code": f"B{i % 25 + 1}",
                    "label": f"B{i % 25 + 1}",
                    "position": i % 25,
                    "status": "O",
                }
            )
        conn.execute(Bed.__table__.insert(), bed_rows)
        consultants = [
            {
                "id": i + 1,
                "code": f"C{1000000 + i}",
                "family_name": f"Consultant{i + 1}",
                "given_names": "Alex",
                "grade": "consultant",
                "email": f"consultant{i + 1}@bench.example",
            }
            for i in range(n_wards * 6)
        ]
        conn.execute(Clinician.__table__.insert(), consultants)
        counts["consultants"] = len(consultants)

        patients: list[dict] = []
        stays: list[dict] = []
        occupancy: list[dict] = []
        vte: list[dict] = []
        plans: list[dict] = []
        observations: list[dict] = []
        obs_from = NOW - timedelta(days=obs_days)
        rules = ClinicalRules()
        scores: dict[tuple[int, int | None], Any] = {}  # NEWS2 as the handler stores it
        # NEWS2 totals 0, 1, 2, 5 (intervals 12 h, 4 h, 4 h, 1 h) in proportions like a ward's.
        obs_values = [
            (70, 16, 37.0, 97),
            (95, 16, 37.0, 97),
            (95, 16, 38.5, 97),
            (115, 22, 38.5, 97),
        ]

        def new_patient() -> int:
            pid = len(patients) + 1
            born = date(1930, 1, 1) + timedelta(days=rng.randrange(0, 33_000))
            patients.append(
                {
                    "id": pid,
                    "family_name": f"Family{pid}",
                    "given_names": f"Given{pid}",
                    "date_of_birth": born,
                }
            )
            return pid

        # Each bed runs back-to-back inpatient stays (median ~3.5 days, long tail) with a
        # turnaround of 1-8 hours; the last stay in a bed is still open at NOW.
        for bed in bed_rows:
            ward_id = bed["ward_id"]
            ward_consultants = [c["id"] for c in consultants[(ward_id - 2) * 6 : (ward_id - 1) * 6]]
            # Times to the minute, as HL7 ADT carries them.
            t = start + timedelta(minutes=rng.randrange(0, 72 * 60))
            while t < NOW:
                los = timedelta(
                    minutes=round(min(24 * 90, rng.lognormvariate(math.log(84), 1.0)) * 60)
                )
                end = t + los
                open_ = end >= NOW
                sid = len(stays) + 1
                consultant = rng.choice(ward_consultants)
                stays.append(
                    {
                        "id": sid,
                        "patient_id": new_patient(),
                        "patient_class": "I",
                        "state": "active" if open_ else "discharged",
                        "ward_id": ward_id,
                        "bed_id": bed["id"],
                        "clinician_id": consultant,
                        "admitted_at": t,
                        "discharged_at": None if open_ else end,
                    }
                )
                occupancy.append(
                    {
                        "stay_id": sid,
                        "ward_id": ward_id,
                        "bed_id": bed["id"],
                        "clinician_id": consultant,
                        "started_at": t,
                        "ended_at": None if open_ else end,
                    }
                )
                if end > obs_from:
                    born = patients[stays[-1]["patient_id"] - 1]["date_of_birth"]
                    taken = max(t, obs_from) + timedelta(minutes=rng.randrange(10, 120))
                    last = min(end, NOW)
                    while taken < last:
                        combo = rng.choices(range(len(obs_values)), (50, 30, 15, 5))[0]
                        pulse, rr, temp, spo2 = obs_values[combo]
                        age = age_on(born, taken.date())
                        if (combo, age) not in scores:
                            scores[(combo, age)] = score_news2(
                                ObservationSet(
                                    taken_at=taken,
                                    respiration_rate=rr,
                                    spo2=spo2,
                                    on_oxygen=False,
                                    systolic_bp=125,
                                    pulse=pulse,
                                    consciousness="A",
                                    temperature=temp,
                                ),
                                rules,
                                age_years=age,
                            )
                        score = scores[(combo, age)]
                        observations.append(
                            {
                                "stay_id": sid,
                                "taken_at": taken,
                                "respiration_rate": rr,
                                "spo2": spo2,
                                "spo2_scale": 1,
                                "on_oxygen": False,
                                "systolic_bp": 125,
                                "pulse": pulse,
                                "consciousness": "A",
                                "temperature": temp,
                                "news2_total": score.total,
                                "news2_band": score.band,
                                "recorded_by": "N0000001",
                                "recorded_at": taken,
                            }
                        )
                        taken += timedelta(minutes=rng.randrange(180, 13 * 60))
                if open_:
                    plans.append(
                        {
                            "stay_id": sid,
                            "decision_to_admit_at": None,
                            "edd": (NOW + timedelta(days=rng.randrange(0, 5))).date(),
                            "updated_at": NOW,
                        }
                    )
                if rng.random() < 0.93:
                    vte.append(
                        {
                            "stay_id": sid,
                            "assessed_at": t + timedelta(minutes=rng.randrange(30, 20 * 60)),
                        }
                    )
                t = end + timedelta(minutes=rng.randrange(60, 8 * 60))
        counts["admissions"] = len(stays)
        # A&E: about 2.5 attendances per admission, 25% left more than 4 h after arrival.
        n_ae = int(len(stays) * 2.5)
        span = (NOW - start).total_seconds()
        for _ in range(n_ae):
            # HL7 times from an A&E system come to the minute (TS YYYYMMDDHHMM).
            arrived = start + timedelta(minutes=rng.randrange(0, int(span // 60)))
            stay_for = timedelta(minutes=round(rng.lognormvariate(math.log(170), 0.55)))
            left = arrived + stay_for
            if rng.random() < 0.33:
                plans.append(
                    {
                        "stay_id": len(stays) + 1,
                        "decision_to_admit_at": arrived + stay_for * rng.uniform(0.3, 0.9),
                        "edd": None,
                        "updated_at": NOW,
                    }
                )
            stays.append(
                {
                    "id": len(stays) + 1,
                    "patient_id": new_patient(),
                    "patient_class": "E",
                    "state": "active" if left >= NOW else "discharged",
                    "ward_id": 1,
                    "bed_id": None,
                    "clinician_id": rng.choice(consultants)["id"],
                    "admitted_at": arrived,
                    "discharged_at": None if left >= NOW else left,
                }
            )
        counts["ae_attendances"] = n_ae
        _insert(conn, Patient.__table__, patients, "patients")
        _insert(conn, Stay.__table__, stays, "stays")
        _insert(conn, BedOccupancy.__table__, occupancy, "bed intervals")
        for r in vte:
            r["assessed_by"] = "C0000001"
            r["outcome"] = ""
            r["recorded_at"] = r["assessed_at"]
        _insert(conn, VteAssessment.__table__, vte, "VTE assessments")
        _insert(conn, StayPlan.__table__, plans, "stay plans (decision to admit, EDD)")
        # Sets arrive in time order on real wards, so they are stored in that order.
        observations.sort(key=lambda r: r["taken_at"])
        _insert(conn, Observation.__table__, observations, "observation sets")
        counts["observation_sets"] = len(observations)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return counts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CountingInbox:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        return "250 OK"


def build_summary(path: Path) -> None:
    """The "observations on time" summary for the generated sets (bulk inserts bypass the
    units of work that keep it), as ``reports build-observation-summary`` builds it."""
    from whiteboard.reports import observation_summary

    engine = make_engine(f"sqlite:///{path}")
    rules = ClinicalRules()
    with engine.connect() as conn:
        if not observation_summary.needs_build(conn, TZ, rules):
            print("observation summary: already built")
            engine.dispose()
            return
    print("building the observation summary ...")
    t0 = time.perf_counter()
    rows = observation_summary.build(
        engine.begin, TZ, rules, lambda done, total: progress("stays counted", done, total)
    )
    print(f"  {rows:,} stay-day rows in {time.perf_counter() - t0:.1f} s")
    engine.dispose()


def compare_observations(services: Any, baseline: float) -> None:
    """The full-year report from the summary and counted directly: same figures, and times."""
    from whiteboard.reports.observations_on_time import observations_on_time
    from whiteboard.reports.period import Period

    period = Period(SENT_ON - timedelta(days=365), SENT_ON - timedelta(days=1))
    rules = services.settings.clinical
    results = {}
    for use_summary in (False, True):
        times = []
        for _ in range(3):
            with services.read_session() as session:
                t0 = time.perf_counter()
                report = observations_on_time(
                    session, period, TZ, rules, NOW, use_summary=use_summary
                )
                times.append(time.perf_counter() - t0)
        results[report.source] = report
        took = statistics.median(times)
        print(
            f"  observations on time, full year, {report.source:7}: {took * 1000:8.1f} ms "
            f"({took / baseline:,.0f}x baseline); {report.total.due:,} sets due, "
            f"{report.total.on_time:,} on time"
        )
    direct, summary = results["direct"], results["summary"]
    same = (
        direct.total == summary.total
        and direct.by_week == summary.by_week
        and direct.by_ward_week == summary.by_ward_week
    )
    print(f"  summary and direct count identical: {same}")
    assert same, "the summary parted from the direct count"


def measure(path: Path) -> None:
    from aiosmtpd.controller import Controller

    from config.app import app_services, create_app
    from whiteboard.reports.catalogue import REPORTS
    from whiteboard.reports.consultant_email import send_consultant_emails

    inbox = CountingInbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings = Settings(
        database_url=f"sqlite:///{path}",
        scheduler_enabled=False,
        board_push_enabled=False,
        smtp_host="127.0.0.1",
        smtp_port=port,
        secret_key="bench",
    )
    app = create_app(settings=settings)
    services = app_services(app)
    from tests.auth_helpers import sign_on
    from whiteboard.auth import accounts

    with services.uow_factory() as uow:
        try:
            accounts.get_user(uow.session, "bench-manager")
        except accounts.AccountError:  # a fresh database
            accounts.add_user(
                uow.session, "bench-manager", "manager", card_number="77000001", pin="2468"
            )
        uow.commit()
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT COUNT(*) FROM stay")).scalar()  # warm the cache
            samples = []
            for _ in range(5):
                t0 = time.perf_counter()
                conn.execute(text("SELECT COUNT(*) FROM stay")).scalar()
                samples.append(time.perf_counter() - t0)
        baseline = statistics.median(samples)
        print(f"\nbaseline: SELECT COUNT(*) FROM stay  {baseline * 1000:.1f} ms")

        print("observations on time, the report function alone (median of 3):")
        compare_observations(services, baseline)

        with services.engine.begin() as conn:  # so a --reuse run sends every email again
            conn.execute(text("DELETE FROM email_delivery"))
        print("07:00 emails: building and sending every consultant's email ...")
        t0 = time.perf_counter()
        summary = send_consultant_emails(services, None, dry_run=False, sent_on=SENT_ON)
        elapsed = time.perf_counter() - t0
        print(
            f"  {summary.sent} sent, {summary.failed} failed, {inbox.received} received by SMTP "
            f"in {elapsed:.2f} s (target <= 30 s; {elapsed / baseline:,.0f}x baseline)"
        )

        from whiteboard.reports.managers_email import (
            build_managers_summary,
            last_complete_week_end,
        )

        t0 = time.perf_counter()
        with services.read_session() as session:
            managers = build_managers_summary(
                session, last_complete_week_end(SENT_ON), TZ, settings.clinical, NOW, 12
            )
        took = time.perf_counter() - t0
        print(
            f"managers' weekly email built ({len(managers.charts)} charts, 12 weeks): "
            f"{took * 1000:.0f} ms ({took / baseline:,.0f}x baseline)"
        )

        client = app.test_client()
        sign_on(client, "77000001", "2468")
        year_from, year_to = SENT_ON - timedelta(days=365), SENT_ON - timedelta(days=1)
        periods = {
            "12 weeks (default)": "",
            "full year": f"from={year_from.isoformat()}&to={year_to.isoformat()}",
        }
        from whiteboard.web.reports import report_cache

        cache = report_cache(app)
        print(
            "report pages (HTML page, its PNG chart, first CSV), median of 3, each COLD "
            "(report cache emptied first); then the page + PNG + CSV as a browser asks for them:"
        )
        worst = 0.0
        for label, query in periods.items():
            for key in REPORTS:
                for suffix in ("", ".png", ".csv"):
                    url = f"/reports/{key}{suffix}?{query}"
                    times = []
                    for _ in range(3):
                        cache.clear()
                        t0 = time.perf_counter()
                        response = client.get(url)
                        times.append(time.perf_counter() - t0)
                        assert response.status_code == 200, (url, response.status_code)
                    took = statistics.median(times)
                    worst = max(worst, took)
                    print(
                        f"  {label:18} {key + suffix:20} {took * 1000:8.1f} ms "
                        f"({took / baseline:,.0f}x baseline)"
                    )
                cache.clear()
                t0 = time.perf_counter()
                for suffix in ("", ".png", ".csv"):
                    assert client.get(f"/reports/{key}{suffix}?{query}").status_code == 200
                took = time.perf_counter() - t0
                print(f"  {label:18} {key + ' page+png+csv':20} {took * 1000:8.1f} ms in all")
        print(f"slowest report request: {worst * 1000:.0f} ms (target <= 1000 ms)")
    finally:
        services.stop()
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beds", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument(
        "--obs-days", type=int, default=365, help="Days of observation sets (default: a year)."
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/wardboard-bench-reports.sqlite"))
    parser.add_argument("--reuse", action="store_true", help="Measure an existing database.")
    args = parser.parse_args()
    if not args.reuse:
        print(f"generating {args.beds} beds x {args.days} days into {args.out} ...")
        t0 = time.perf_counter()
        counts = generate(args.out, args.beds, args.days, min(args.obs_days, args.days))
        print(
            f"generated in {time.perf_counter() - t0:.1f} s: "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items())
        )
    build_summary(args.out)
    measure(args.out)


if __name__ == "__main__":
    main()
