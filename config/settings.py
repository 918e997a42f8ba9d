"""Typed settings with ``WARDBOARD_*`` environment overrides.

Settings are read when the app or a command starts (``Settings.from_env``), never at import
time, so tests and tools can build their own without touching the environment.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from config.clinical import ClinicalRules

PREFIX = "WARDBOARD_"
DEFAULT_INSTANCE = Path(__file__).resolve().parent.parent / "instance"


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {raw!r}")


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIN_METRICS_TOKEN = 16  # a guessable scraper token would open the metrics to anyone


@dataclass(frozen=True)
class Settings:
    """Everything an operator may change, with the defaults a single small site needs."""

    instance_path: Path = DEFAULT_INSTANCE
    database_url: str = ""
    database_pool_size: int = 10  # connections each process keeps open
    database_max_overflow: int = 20  # extra connections a process may open under a burst
    secret_key: str = ""
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    mllp_host: str = "127.0.0.1"
    mllp_port: int = 2575
    mllp_max_message_bytes: int = 1_048_576
    mllp_idle_timeout_seconds: float = 300.0
    hl7_senders_file: str = ""
    hl7_apply_mode: str = "sync"
    hl7_journal_retention_days: int = 0  # 0 keeps every journalled message forever
    # SQLite: messages are made durable in a spool file next to the database before their ACK,
    # so an ACK never waits for the records' write lock (integration/spool.py).
    hl7_spool: bool = True
    hl7_destinations_file: str = ""  # outbound endpoints and subscribers (TOML)
    redis_url: str = ""  # board pushes shared by every process (required when split)
    redis_channel: str = "wardboard"  # one channel per site sharing a Redis server
    web_threads: int = 300  # gunicorn threads per web process: one per open board, roughly
    timezone: str = "Europe/London"
    layout_file: str = ""
    scheduler_enabled: bool = True
    board_push_enabled: bool = True
    hospital_name: str = "Wardboard General Hospital"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_sender: str = "wardboard@localhost"
    # The address staff use to reach Wardboard; links in emails start with it.
    public_url: str = ""
    # Security (docs/SECURITY.md): cookies only over HTTPS unless an operator says otherwise.
    cookie_secure: bool = True
    idle_lock_seconds: int = 900
    socket_recheck_seconds: float = 30.0
    signon_max_failures: int = 5
    signon_lockout_seconds: int = 900
    signon_rate_per_minute: int = 30
    max_request_bytes: int = 65_536
    # GET /metrics for a Prometheus scraper: "Authorization: Bearer <token>". Empty: only
    # signed-on staff with metrics.view (docs/METRICS.md).
    metrics_token: str = field(default="", repr=False)
    # Comma-separated addresses or networks allowed to send HL7 over MLLP; others get AR.
    mllp_allowed_senders: str = "127.0.0.1,::1"
    # MLLP over TLS: certificate and key (PEM) turn it on; a CA makes client certificates
    # required (only clients with a certificate that CA signed may connect).
    mllp_tls_cert: str = ""
    mllp_tls_key: str = field(default="", repr=False)
    mllp_tls_ca: str = ""
    # With a certificate: 0 makes the MLLP port itself TLS; a port number keeps MLLP plain and
    # adds a TLS listener there, for sites where some senders use TLS (senders file: tls).
    mllp_tls_port: int = 0
    # HL7 batch drop folder (FHS/BHS files); empty: no folder is polled. Imported files move
    # to done/ (with the batch ACK beside them as NAME.ack), unusable ones to failed/.
    hl7_batch_folder: str = ""
    hl7_batch_poll_seconds: int = 60
    gp_feed_folder: str = ""  # default: <instance>/gp_feed; the 02:00 job imports *.csv here
    gp_feed_hour: int = 2
    mpi_sweep_minutes: int = 60
    # The managers' weekly email (docs/REPORTS.md): comma-separated addresses (none: not sent),
    # the day (mon..sun) and hour (UK time) it goes, and how many weeks its trend charts show.
    managers_email_recipients: str = ""
    managers_email_day: str = "mon"
    managers_email_hour: int = 8
    managers_email_weeks: int = 12
    # A computed report is reused for this long by the page's chart and CSV requests (0: never).
    report_cache_seconds: int = 60
    # Nursing shifts (UK local times, HH:MM): the day shift runs from the first to the
    # second, the night shift from the second to the next day's first. Nurse allocation and
    # the workload view's "current shift" use them (docs/CLINICAL_ACTIONS.md).
    day_shift_starts: str = "07:30"
    night_shift_starts: str = "19:30"
    clinical: ClinicalRules = field(default_factory=ClinicalRules)

    def __post_init__(self) -> None:
        if not self.database_url:
            url = f"sqlite:///{Path(self.instance_path) / 'wardboard.sqlite'}"
            object.__setattr__(self, "database_url", url)
        if self.clinical.timezone != self.timezone:
            # One time zone for the whole system: WARDBOARD_TIMEZONE.
            object.__setattr__(
                self, "clinical", dataclasses.replace(self.clinical, timezone=self.timezone)
            )
        if not self.gp_feed_folder:
            object.__setattr__(self, "gp_feed_folder", str(Path(self.instance_path) / "gp_feed"))
        if 0 < len(self.metrics_token) < MIN_METRICS_TOKEN:
            raise ValueError(
                f"WARDBOARD_METRICS_TOKEN is too short: use at least {MIN_METRICS_TOKEN} "
                "characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        if self.managers_email_day not in WEEKDAYS:
            raise ValueError(
                f"WARDBOARD_MANAGERS_EMAIL_DAY must be one of {', '.join(WEEKDAYS)}, "
                f"got {self.managers_email_day!r}"
            )
        if not 0 <= self.managers_email_hour <= 21:
            raise ValueError("WARDBOARD_MANAGERS_EMAIL_HOUR must be 0-21 (retries follow)")
        if self.managers_email_weeks < 1:
            raise ValueError("WARDBOARD_MANAGERS_EMAIL_WEEKS must be at least 1")
        _check_shift_times(self.day_shift_starts, self.night_shift_starts)
        if not self.layout_file:
            layout = Path(__file__).resolve().parent / "layouts" / "demo_hospital.toml"
            object.__setattr__(self, "layout_file", str(layout))

    @property
    def public_base_url(self) -> str:
        return self.public_url or f"http://{self.http_host}:{self.http_port}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``WARDBOARD_<FIELD>`` variables; explicit overrides win."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "clinical":
                values["clinical"] = ClinicalRules.from_env(environ)
                continue
            key = PREFIX + f.name.upper()
            if key not in environ:
                continue
            raw = environ[key]
            try:
                values[f.name] = _coerce(f.type, raw)
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def with_secret(self) -> Settings:
        """A random secret for one run when none is configured (sessions then end on restart)."""
        if self.secret_key:
            return self
        return self.replace(secret_key=secrets.token_hex(32))


def _check_shift_times(day: str, night: str) -> None:
    from datetime import time

    parsed = []
    for name, raw in (("DAY_SHIFT_STARTS", day), ("NIGHT_SHIFT_STARTS", night)):
        try:
            parsed.append(time.fromisoformat(raw))
        except ValueError:
            raise ValueError(f"WARDBOARD_{name} must be a time HH:MM, got {raw!r}") from None
    if not parsed[0] < parsed[1]:
        raise ValueError("WARDBOARD_DAY_SHIFT_STARTS must be before WARDBOARD_NIGHT_SHIFT_STARTS")


def _coerce(type_name: Any, raw: str) -> Any:
    name = type_name if isinstance(type_name, str) else getattr(type_name, "__name__", "")
    if name == "int":
        return int(raw)
    if name == "float":
        return float(raw)
    if name == "bool":
        return _parse_bool(raw)
    if name == "Path":
        return Path(raw)
    return raw
