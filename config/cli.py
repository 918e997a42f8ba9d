"""The command line behind run.py: serve, simulate, db, layout.

Every failure a person can cause (a bad setting, a missing layout file, a port in use) ends
with one clear line and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from config.layout import LayoutError, apply_layout, load_layout
from config.settings import Settings

if TYPE_CHECKING:
    from config.bootstrap import Services
    from whiteboard.reports.delivery_log import SendSummary


def _settings(**overrides: object) -> Settings:
    try:
        return Settings.from_env(**overrides)
    except ValueError as exc:
        raise click.ClickException(f"bad setting: {exc}") from None


@click.group()
def cli() -> None:
    """Wardboard: HL7 in, one record per patient, live ward boards out."""


@cli.command()
@click.option("--demo", is_flag=True, help="Fresh demo hospital database and an HL7 simulator.")
@click.option("--simulate/--no-simulate", default=True, help="With --demo: run the simulator.")
@click.option("--rate", default=1.0, show_default=True, help="Simulator messages per second.")
def serve(demo: bool, simulate: bool, rate: float) -> None:
    """HTTP + Socket.IO, the MLLP listener and the scheduler, in one process."""
    from config.app import app_services, create_app
    from config.logging import configure_logging
    from config.migrate import upgrade
    from whiteboard.web.server import ClockedRequestHandler
    from whiteboard.web.socket import socketio

    configure_logging()
    settings = _settings()
    if demo:
        demo_db = Path(settings.instance_path) / "demo.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{demo_db}{suffix}").unlink(missing_ok=True)
        # The demo serves plain HTTP on this machine, so its cookies cannot be Secure-only.
        settings = settings.replace(database_url=f"sqlite:///{demo_db}", cookie_secure=False)
    layout = _layout(settings)
    from integration.outbound.queue import DestinationConfigError
    from integration.senders import SenderConfigError

    try:
        app = create_app(settings=settings)
    except (SenderConfigError, DestinationConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    services = app_services(app)
    try:
        upgrade(services.engine)
        with services.uow_factory() as uow:
            apply_layout(uow.session, layout)
            uow.commit()
        base = f"http://{settings.http_host}:{settings.http_port}"
        demo_lines: list[str] = []
        if demo:
            from whiteboard.auth.demo import seed_demo_security

            with services.uow_factory() as uow:
                demo_lines = seed_demo_security(uow.session, base)
                uow.commit()
        services.pipeline.recover()
        from integration.mllp.tls import TlsConfigError

        try:
            mllp = services.start_listener()
        except TlsConfigError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen for MLLP on {settings.mllp_host}:{settings.mllp_port}: {exc}"
            ) from None
        if settings.scheduler_enabled:
            services.start_scheduler()
        if services.destinations.endpoints:
            services.start_outbound()
        if demo and simulate:
            _start_simulator(layout, settings, mllp.port, rate, services.stoppers)
        from config.processes import settle_heap

        settle_heap()
        click.echo(f"\n  Wardboard is running ({services.engine.dialect.name} database)")
        click.echo(f"  Boards:   {base}/")
        click.echo(f"  A&E:      {base}/wards/AE    Acute Medical Unit: {base}/wards/AMU")
        click.echo(f"  Health:   {base}/healthz    API: {base}/api/v1/openapi.json")
        click.echo(f"  MLLP:     {settings.mllp_host}:{mllp.port}")
        if services.mllp_tls is not None:
            click.echo(f"  MLLP TLS: {settings.mllp_host}:{services.mllp_tls.port}")
        for line in demo_lines:
            click.echo(line)
        click.echo("  Stop with Ctrl-C.\n")
        try:
            socketio.run(
                app,
                host=settings.http_host,
                port=settings.http_port,
                allow_unsafe_werkzeug=True,
                use_reloader=False,
                log_output=False,
                request_handler=ClockedRequestHandler,
            )
        except OSError as exc:
            raise click.ClickException(
                f"cannot serve HTTP on {settings.http_host}:{settings.http_port}: {exc}"
            ) from None
    finally:
        services.stop()


def _start_simulator(
    layout: object, settings: Settings, port: int, rate: float, stoppers: list
) -> None:
    from integration.simulator.runner import Simulation

    sim = Simulation(
        layout,
        settings.mllp_host,
        port,
        rate=rate,
        tz=ZoneInfo(settings.timezone),
        progress_every=30.0,
    )  # type: ignore[arg-type]
    thread = threading.Thread(target=sim.run, name="simulator", daemon=True)
    thread.start()
    stoppers.append(sim.stop_event.set)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=2575, show_default=True, type=int)
@click.option("--rate", default=5.0, show_default=True, help="Messages per second.")
@click.option("--duration", type=float, help="Stop after this many seconds.")
@click.option("--count", type=int, help="Stop after this many messages.")
@click.option("--seed", type=int, help="Random seed, for a repeatable run.")
@click.option("--no-fill", is_flag=True, help="Skip the initial burst that fills the beds.")
def simulate(
    host: str,
    port: int,
    rate: float,
    duration: float | None,
    count: int | None,
    seed: int | None,
    no_fill: bool,
) -> None:
    """Send realistic ADT traffic over MLLP to any listener."""
    from config.logging import configure_logging
    from integration.simulator.runner import Simulation

    configure_logging("WARNING")
    settings = _settings()
    sim = Simulation(
        _layout(settings),
        host,
        port,
        rate=rate,
        seed=seed,
        fill=not no_fill,
        tz=ZoneInfo(settings.timezone),
    )
    try:
        stats = sim.run(duration=duration, count=count)
    except KeyboardInterrupt:
        sim.stop_event.set()
        stats = sim.stats
    except ConnectionRefusedError:
        raise click.ClickException(f"nothing is listening on {host}:{port}") from None
    click.echo(stats.line())


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Bring the database to the current schema (Alembic)."""
    from config.db import make_engine
    from config.migrate import upgrade

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    click.echo(f"database at {engine.url.render_as_string(hide_password=True)} is up to date")


@cli.group()
def layout() -> None:
    """Ward layout files."""


@layout.command("apply")
@click.argument("path", required=False)
def layout_apply(path: str | None) -> None:
    """Apply a ward layout file (default: WARDBOARD_LAYOUT_FILE) to the database."""
    from config.db import make_engine
    from config.unit_of_work import UnitOfWorkFactory

    settings = _settings(**({"layout_file": path} if path else {}))
    spec = _layout(settings)
    engine = make_engine(settings.database_url)
    try:
        with UnitOfWorkFactory(engine)() as uow:
            apply_layout(uow.session, spec)
            uow.commit()
    finally:
        engine.dispose()
    beds = sum(len(bay.beds) for w in spec.wards for bay in w.bays)
    click.echo(f"applied {len(spec.wards)} wards and {beds} beds from {settings.layout_file}")


@cli.group()
def email() -> None:
    """Emails Wardboard sends."""


@email.command("consultants")
@click.option(
    "--date",
    "report_date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day the email is about (default: yesterday, UK time).",
)
@click.option("--dry-run", is_flag=True, help="Build every email and list them; send nothing.")
def email_consultants(report_date: object, dry_run: bool) -> None:
    """The 07:00 email to every consultant (the scheduler runs this each morning)."""
    from config.bootstrap import bootstrap
    from whiteboard.reports.consultant_email import send_consultant_emails

    settings = _settings(board_push_enabled=False)
    day = report_date.date() if report_date is not None else None  # type: ignore[attr-defined]
    services = bootstrap(settings)
    try:
        summary = send_consultant_emails(services, day, dry_run)
    except Exception as exc:  # a database that is not there, a bad setting
        raise click.ClickException(f"could not build the emails: {exc}") from None
    finally:
        services.stop()
    _echo_sent(summary, dry_run)


def _echo_sent(summary: SendSummary, dry_run: bool) -> None:
    """What a run of report emails did; exit 1 when any failed (cron and operators see it)."""
    for line in summary.lines:
        click.echo(line)
    if dry_run:
        click.echo(f"dry run: {summary.dry_run} emails built, none sent")
        return
    click.echo(
        f"{summary.sent} sent, {summary.failed} failed, "
        f"{summary.skipped_already_sent} already sent earlier"
    )
    if summary.failed:
        sys.exit(1)


@email.command("managers")
@click.option(
    "--week-ending",
    "week_end",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The Sunday the week ends (default: last complete week, UK time).",
)
@click.option("--dry-run", is_flag=True, help="Build the email and list recipients; send nothing.")
def email_managers(week_end: object, dry_run: bool) -> None:
    """The weekly email to managers (the scheduler runs this; WARDBOARD_MANAGERS_EMAIL_*)."""
    from config.bootstrap import bootstrap
    from whiteboard.reports.managers_email import send_managers_email

    day = week_end.date() if week_end is not None else None  # type: ignore[attr-defined]
    if day is not None and day.weekday() != 6:
        raise click.BadParameter(f"{day} is not a Sunday", param_hint="--week-ending")
    settings = _settings(board_push_enabled=False)
    services = bootstrap(settings)
    try:
        summary = send_managers_email(services, day, dry_run)
    except Exception as exc:  # a database that is not there, a bad setting
        raise click.ClickException(f"could not build the email: {exc}") from None
    finally:
        services.stop()
    _echo_sent(summary, dry_run)


@cli.group()
def reports() -> None:
    """Manager reports."""


@reports.command("build-observation-summary")
def reports_build_observation_summary() -> None:
    """Count every stay's observation sets into the "observations on time" summary, with
    progress (after an upgrade, a change of time zone or observation rules, or bulk loads)."""
    from zoneinfo import ZoneInfo

    from config.bootstrap import bootstrap
    from whiteboard.reports import observation_summary

    settings = _settings(board_push_enabled=False)
    services = bootstrap(settings)
    state = {"shown": 0}

    def progress(done: int, total: int) -> None:
        if state["shown"] == 0:
            click.echo(f"counting the observation sets of {total:,} stays")
        if done - state["shown"] >= max(total // 20, 1) or done == total:
            click.echo(f"  {done:,}/{total:,} stays ({100 * done // max(total, 1)}%)")
            state["shown"] = done

    try:
        rows = observation_summary.build(
            lambda: observation_summary.write_transaction(services.uow_factory),
            ZoneInfo(settings.timezone),
            settings.clinical,
            progress,
        )
    except Exception as exc:  # a database that is not there or not upgraded
        raise click.ClickException(f"could not build the summary: {exc}") from None
    finally:
        services.stop()
    click.echo(f"observation summary ready: {rows:,} stay-day rows")


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), required=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
def export(fmt: str, out_dir: Path) -> None:
    """Every table to CSV or JSON files, with schema.json describing them."""
    from config.db import make_engine
    from config.export import export_database

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        result = export_database(engine, out_dir, fmt, progress=click.echo)
    except OSError as exc:
        raise click.ClickException(f"cannot write to {out_dir}: {exc}") from None
    finally:
        engine.dispose()
    click.echo(f"exported {result.tables} tables, {result.rows} rows to {out_dir}")


@cli.group()
def hl7() -> None:
    """The HL7 integration engine."""


@hl7.command("listen")
@click.option("--port", type=int, help="MLLP port (default WARDBOARD_MLLP_PORT; 0 = any free).")
def hl7_listen(port: int | None) -> None:
    """Only the MLLP listener, journal and applier (no web server): same as ``run.py mllp``."""
    _run_mllp(port)


@cli.command("mllp")
@click.option("--port", type=int, help="MLLP port (default WARDBOARD_MLLP_PORT; 0 = any free).")
def mllp_process(port: int | None) -> None:
    """The MLLP listener, journal and applier as a process of its own.

    Board pushes go to the web processes through WARDBOARD_REDIS_URL. Several can run at once:
    the journal's uniqueness keeps a message resent to another listener from being applied
    twice. Prints "MLLP listening on HOST:PORT" once it accepts connections; stops on SIGTERM
    or Ctrl-C after the applier has finished what it had in hand.
    """
    _run_mllp(port)


def _run_mllp(port: int | None) -> None:
    from config.logging import configure_logging
    from config.processes import headless_services, settle_heap, wait_for_stop

    configure_logging("WARNING")
    settings = _settings()
    layout_spec = _layout(settings)
    services = _headless(headless_services, settings)
    try:
        with services.uow_factory() as uow:
            apply_layout(uow.session, layout_spec)
            uow.commit()
        recovered = services.pipeline.recover()
        from integration.mllp.tls import TlsConfigError

        try:
            mllp = services.start_listener(port)
        except TlsConfigError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(f"cannot listen for MLLP: {exc}") from None
        if services.destinations.endpoints:
            services.start_outbound()
        settle_heap()
        click.echo(f"recovered {recovered} journalled message(s)")
        click.echo(f"MLLP listening on {settings.mllp_host}:{mllp.port}", nl=True)
        if services.mllp_tls is not None:
            click.echo(f"MLLP over TLS on {settings.mllp_host}:{services.mllp_tls.port}")
        sys.stdout.flush()
        wait_for_stop()
    finally:
        services.stop()


@cli.command("web")
@click.option("--port", type=int, help="HTTP port (default WARDBOARD_HTTP_PORT).")
@click.option("--threads", type=int, help="Threads (default WARDBOARD_WEB_THREADS).")
def web_process(port: int | None, threads: int | None) -> None:
    """Pages, API and Socket.IO under gunicorn, as one of several web processes.

    Needs WARDBOARD_SECRET_KEY (shared by every web process) and WARDBOARD_REDIS_URL (to hear
    changes made by the MLLP and scheduler processes). Put several behind a reverse proxy that
    keeps each board on the process it connected to.
    """
    from config.logging import configure_logging
    from config.processes import ProcessConfigError, serve_web, web_settings

    configure_logging("WARNING")
    settings = _settings()
    if port is not None:
        settings = settings.replace(http_port=port)
    try:
        settings = web_settings(settings)
    except ProcessConfigError as exc:
        raise click.ClickException(str(exc)) from None
    serve_web(settings, threads=threads or settings.web_threads)


@cli.command("scheduler")
def scheduler_process() -> None:
    """The scheduled jobs (07:00 email, GP feed, alert re-push...) as a process of their own.

    Several may run: they compete for one lease in the database and only the holder runs jobs.
    """
    from config.logging import configure_logging
    from config.processes import headless_services, wait_for_stop

    configure_logging("INFO")
    settings = _settings().replace(scheduler_enabled=True)
    services = _headless(headless_services, settings)
    try:
        services.start_scheduler()
        click.echo("scheduler started; it runs jobs while it holds the lease")
        sys.stdout.flush()
        wait_for_stop()
    finally:
        services.stop()


def _headless(build, settings: Settings) -> Services:  # type: ignore[no-untyped-def]
    from integration.outbound.queue import DestinationConfigError
    from integration.senders import SenderConfigError

    try:
        return build(settings)
    except (SenderConfigError, DestinationConfigError) as exc:
        raise click.ClickException(str(exc)) from None


@hl7.command("errors")
@click.option("--limit", default=50, show_default=True, help="Newest first.")
def hl7_errors(limit: int) -> None:
    """The error queue: journalled messages that failed (AE) or were rejected (AR)."""
    from sqlalchemy import select

    from config.db import make_engine
    from integration.journal import ERROR_STATES, InboundMessage

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    InboundMessage.id,
                    InboundMessage.received_at,
                    InboundMessage.sender,
                    InboundMessage.message_type,
                    InboundMessage.trigger_event,
                    InboundMessage.control_id,
                    InboundMessage.state,
                    InboundMessage.error_code,
                    InboundMessage.error,
                )
                .where(InboundMessage.state.in_(ERROR_STATES))
                .order_by(InboundMessage.id.desc())
                .limit(limit)
            ).all()
    finally:
        engine.dispose()
    if not rows:
        click.echo("the error queue is empty")
        return
    for r in rows:
        kind = f"{r.message_type}^{r.trigger_event}" if r.message_type else "(unreadable)"
        click.echo(
            f"{r.id:>8}  {r.received_at:%Y-%m-%d %H:%M:%S}Z  {r.sender or '-':<20} {kind:<9} "
            f"{r.control_id or '-':<22} {r.state:<8} {r.error_code or ''}: {r.error or ''}"
        )


@hl7.command("replay")
@click.argument("entry_ids", nargs=-1, type=int, required=True)
def hl7_replay(entry_ids: tuple[int, ...]) -> None:
    """Apply journal entries again after fixing the cause (bypasses the duplicate check)."""
    from config.bootstrap import bootstrap
    from integration.senders import SenderConfigError

    settings = _settings()
    try:
        services = bootstrap(settings.replace(board_push_enabled=False))
    except SenderConfigError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        outcomes = services.pipeline.replay(list(entry_ids))
    except KeyError as exc:
        raise click.ClickException(f"no journal entry with id {exc.args[0]}") from None
    finally:
        services.stop()
    failed = 0
    for outcome in outcomes:
        line = f"{outcome.entry_id}: {outcome.code}"
        if outcome.code not in ("AA", "CA"):
            failed += 1
            err = [s for s in outcome.ack.split(b"\r") if s.startswith(b"ERR")]
            if err:
                line += " " + err[0].decode("utf-8", "replace").split(err[0][3:4].decode())[-1]
        click.echo(line)
    if failed:
        raise click.ClickException(f"{failed} of {len(outcomes)} message(s) still fail")


@hl7.command("import-batch")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--ack-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each file's batch ACK here as NAME.ack (default: beside the file).",
)
def hl7_import_batch(files: tuple[Path, ...], ack_dir: Path | None) -> None:
    """Import HL7 batch files (FHS/BHS...BTS/FTS, or bare messages), with progress.

    Every message is journalled and duplicate-checked like one received over MLLP; exits 1
    when any message was not accepted or a batch failed its BTS count.
    """
    from integration.batch import MalformedBatch, split_batch
    from integration.batch_folder import import_file

    for path in files:
        if not path.is_file():
            raise click.ClickException(f"no such file: {path}")
    counts = {}
    for path in files:
        try:
            counts[path] = split_batch(path.read_bytes()).message_count
        except MalformedBatch as exc:
            counts[path] = 1  # still imported: journalled as rejected, answered with AR
            click.echo(f"{path.name}: not a usable batch: {exc}", err=True)
    bad = False
    with _cli_services() as services:
        for path in files:
            with click.progressbar(length=counts[path], label=path.name, show_pos=True) as bar:
                done = [0]

                def step(n: int, _total: int, bar=bar, done=done) -> None:  # type: ignore[no-untyped-def]
                    bar.update(n - done[0])
                    done[0] = n

                result = import_file(services.pipeline, path, progress=step)
            ack_path = (ack_dir or path.parent) / f"{path.name}.ack"
            ack_path.parent.mkdir(parents=True, exist_ok=True)
            ack_path.write_bytes(result.ack)
            accepted = len(result.results) - len(result.failed)
            click.echo(
                f"{path.name}: {accepted} of {len(result.results)} message(s) accepted; "
                f"batch ACK in {ack_path}"
            )
            for problem in result.count_errors:
                click.echo(f"  {problem}", err=True)
            for failed in result.failed[:20]:
                who = failed.control_id or "(no MSH-10)"
                click.echo(f"  {who}: {failed.code} {failed.reason}", err=True)
            bad = bad or not result.ok
    if bad:
        sys.exit(1)


def _register_subcommands() -> None:
    from whiteboard.auth.cli import users

    cli.add_command(users)


_register_subcommands()


@contextmanager
def _cli_services(*, push: bool = False) -> Iterator[Services]:
    """Services for a one-off command: migrated database, no listener. With ``push`` the
    boards held by web processes hear of the command's changes through Redis, as they hear of
    an MLLP process's (pending pushes are sent before the command exits)."""
    from config.bootstrap import bootstrap
    from config.migrate import upgrade
    from config.processes import board_emitters

    settings = _settings().replace(board_push_enabled=push, scheduler_enabled=False)
    services = bootstrap(settings, **(board_emitters(settings) if push else {}))
    try:
        upgrade(services.engine)
        yield services
    finally:
        services.stop()


@cli.group("gp-feed")
def gp_feed() -> None:
    """The nightly GP registered-list feed (CSV; header in docs/MPI_INDEX.md)."""


@gp_feed.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def gp_feed_import(files: tuple[Path, ...]) -> None:
    """Import one or more GP feed files, with a progress bar; a summary is stored per file."""
    from mpi.gp_feed import FeedFileError, count_rows, import_file, read_rows

    for path in files:
        if not path.is_file():
            raise click.ClickException(f"no such file: {path}")
        try:
            next(iter(read_rows(path, [])), None)
        except (FeedFileError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"cannot import {path}: {exc}") from None
    failed = False
    with _cli_services(push=True) as services:  # a changed patient's board refreshes
        for path in files:
            total = count_rows(path)
            with click.progressbar(length=total, label=path.name, show_pos=True) as bar:
                run = import_file(services, path, progress=bar.update)
            counts = ", ".join(f"{k} {v}" for k, v in sorted(run.counts.items()))
            click.echo(f"{path.name}: {run.state}: {counts}")
            for err in run.errors[:10]:
                click.echo(f"  line {err['line']}: {err['error']}", err=True)
            failed = failed or run.state != "done"
    if failed:
        sys.exit(1)


@gp_feed.command("history")
@click.option("--limit", default=20, show_default=True)
def gp_feed_history(limit: int) -> None:
    """Stored summaries of past GP feed imports, newest first."""
    from sqlalchemy import select

    from mpi.gp_feed_run import GpFeedRun

    with _cli_services() as services, services.read_session() as session:
        runs = session.scalars(select(GpFeedRun).order_by(GpFeedRun.id.desc()).limit(limit)).all()
        if not runs:
            click.echo("no GP feed has been imported yet")
        for run in runs:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(run.counts.items()))
            started = run.started_at.strftime("%Y-%m-%d %H:%M")
            click.echo(f"#{run.id} {started} {run.file_name} {run.state}: {counts}")


@cli.group("gp")
def gp_group() -> None:
    """GP practices: record synopses they share, and their sharing authorisations."""


@gp_group.group("synopsis")
def gp_synopsis() -> None:
    """GP record synopses (JSON format in docs/GP_SYNOPSIS.md)."""


@gp_synopsis.command("import")
@click.argument("path", type=click.Path(path_type=Path))
def gp_synopsis_import(path: Path) -> None:
    """Import a JSON file: one synopsis object, or a list of them (each names its practice).

    The whole file is checked first; a bad one imports nothing. Each synopsis is then stored in
    its own transaction; one for a patient not registered with its practice is reported and
    the exit code is 1.
    """
    import getpass
    import json

    from whiteboard.auth.audit import CHANGED_BY
    from whiteboard.errors import RecordError
    from whiteboard.gp_synopsis_json import BadSynopsis, parse_synopsis

    if not path.is_file():
        raise click.ClickException(f"no such file: {path}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"cannot import {path}: not UTF-8 JSON ({exc})") from None
    docs = doc if isinstance(doc, list) else [doc]
    commands = []
    for i, item in enumerate(docs):
        try:
            commands.append(parse_synopsis(item, source=f"file:{path.name}"[:40]))
        except BadSynopsis as exc:
            where = f" (synopsis {i + 1} of {len(docs)})" if isinstance(doc, list) else ""
            raise click.ClickException(
                f"cannot import {path}{where}: {exc}; nothing was imported"
            ) from None
    failed = 0
    token = CHANGED_BY.set((f"cli:{getpass.getuser()}"[:80], "cli", ""))
    try:
        with (
            _cli_services() as services,
            click.progressbar(commands, label=path.name, show_pos=True) as bar,
        ):
            for n, command in enumerate(bar, start=1):
                try:
                    services.bus.handle(command)
                except RecordError as exc:
                    failed += 1
                    click.echo(
                        f"\n  synopsis {n} (NHS {command.nhs_number}): {exc.message}", err=True
                    )
    finally:
        CHANGED_BY.reset(token)
    click.echo(f"{path.name}: {len(commands) - failed} stored, {failed} refused")
    if failed:
        sys.exit(1)


@gp_group.group("sharing")
def gp_sharing() -> None:
    """Which practices have authorised hospital clinicians to read their synopses."""


@gp_sharing.command("list")
def gp_sharing_list() -> None:
    from whiteboard.gp_record import sharing_listing

    with _cli_services() as services, services.read_session() as session:
        rows = sharing_listing(session)
    if not rows:
        click.echo("no practice has authorised sharing")
    for r in rows:
        state = "active" if r["active"] else f"revoked {r['revoked_at']} by {r['revoked_by']}"
        click.echo(
            f"{r['practice']:<8} authorised by {r['authorised_by']} "
            f"(recorded by {r['recorded_by']}, {r['authorised_at']}): {state}"
        )


@gp_sharing.command("authorise")
@click.argument("practice")
@click.option("--by", "authorised_by", required=True, help="Who at the practice authorised it.")
@click.option("--note", default="", help="A reference, e.g. the practice's letter.")
def gp_sharing_authorise(practice: str, authorised_by: str, note: str) -> None:
    """Record that PRACTICE (ODS code) authorised sharing its synopses (audited as 'cli')."""
    _gp_sharing_change("authorise", practice, authorised_by, note)


@gp_sharing.command("revoke")
@click.argument("practice")
def gp_sharing_revoke(practice: str) -> None:
    """Revoke PRACTICE's authorisation: its synopses are hidden again at once."""
    _gp_sharing_change("revoke", practice)


def _gp_sharing_change(action: str, practice: str, by: str = "", note: str = "") -> None:
    import getpass

    from whiteboard.errors import RecordError
    from whiteboard.gp_commands import AuthoriseGpSharing, RevokeGpSharing

    who = f"cli:{getpass.getuser()}"[:80]
    with _cli_services() as services:
        now = services.clock.now()
        command = (
            AuthoriseGpSharing(now, practice=practice, authorised_by=by, recorded_by=who, note=note)
            if action == "authorise"
            else RevokeGpSharing(now, practice=practice, revoked_by=who)
        )
        try:
            services.bus.handle(command)
        except RecordError as exc:
            raise click.ClickException(exc.message) from None
        services.audit.record(
            f"gp_sharing.{action}", actor=who, role="cli", detail={"practice": practice.upper()}
        )
    click.echo(f"practice {practice.upper()}: sharing {action}d")


@cli.group()
def mpi() -> None:
    """Master patient index: link export, the 24-hour sweep."""


@mpi.command("export-links")
@click.option("--out", type=click.Path(path_type=Path), help="File to write (default: stdout).")
def mpi_export_links(out: Path | None) -> None:
    """CSV of every link: source, local id, enterprise id, link source, state, score."""
    from mpi.export import export_links

    with _cli_services() as services, services.read_session() as session:
        if out is None:
            export_links(session, sys.stdout)
            return
        with out.open("w", newline="", encoding="utf-8") as fh:
            count = export_links(session, fh)
    click.echo(f"wrote {count} links to {out}", err=True)


@mpi.command("sweep")
def mpi_sweep() -> None:
    """Run the 24-hour A&E re-match now and print the wait report."""
    import json

    from mpi.sweep import run_sweep, sweep_report

    with _cli_services() as services:
        result = run_sweep(services)
        click.echo(json.dumps({"sweep": result.as_dict(), "report": sweep_report(services)}))


def _layout(settings: Settings):  # type: ignore[no-untyped-def]
    try:
        return load_layout(settings.layout_file)
    except LayoutError as exc:
        raise click.ClickException(str(exc)) from None


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
