"""One place that wires everything: engine, unit of work, bus, handlers, publisher, listener.

Nothing here runs at import; ``bootstrap(settings)`` builds a ``Services`` and the caller
decides which background parts (listener, scheduler, push worker) to start.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config.clock import Clock
from config.db import make_engine
from config.messagebus import MessageBus
from config.settings import Settings
from config.unit_of_work import UnitOfWorkFactory
from integration.inbound import InboundPipeline
from integration.mllp.server import MllpServer
from integration.outbound.queue import Destinations, OutboundSender, OutboxHook
from integration.senders import (
    ASYNC,
    SYNC,
    SenderConfigError,
    SenderDirectory,
    SenderPolicy,
)
from integration.spool import Spool, spool_path
from mpi.handlers import MPI_COMMAND_HANDLERS
from whiteboard import events
from whiteboard.allocation_handlers import bind_shift_times
from whiteboard.auth.audit import AuditLog, audit_record_changes
from whiteboard.board.chain import LocalChain, PushChain, RedisChain
from whiteboard.board.publisher import BoardPublisher, Emit, Emitters
from whiteboard.board.versions import bump_ward_versions
from whiteboard.clinical_handlers import bind_rules
from whiteboard.gp_handlers import GP_HANDLERS
from whiteboard.handlers import COMMAND_HANDLERS
from whiteboard.reports import observation_summary
from whiteboard.shifts import ShiftTimes

if TYPE_CHECKING:
    from config.scheduler import SchedulerLeader

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    uow_factory: UnitOfWorkFactory
    bus: MessageBus
    pipeline: InboundPipeline
    publisher: BoardPublisher
    clock: Clock
    audit: AuditLog
    mllp: MllpServer | None = None
    mllp_tls: MllpServer | None = None  # the second, TLS listener (WARDBOARD_MLLP_TLS_PORT)
    destinations: Destinations = field(default_factory=Destinations)
    outbound: OutboundSender | None = None
    scheduler: SchedulerLeader | None = None
    stoppers: list[Callable[[], None]] = field(default_factory=list)

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def start_listener(self, port: int | None = None, tls_port: int | None = None) -> MllpServer:
        """The MLLP listener; with a certificate and a TLS port, a second listener over TLS.

        ``tls_port`` overrides WARDBOARD_MLLP_TLS_PORT (0 here: any free port, for tests).
        """
        s = self.settings
        from integration.mllp.tls import server_context
        from integration.sender_allowlist import guard, parse_allowed

        # The applier is CPU-bound Python; with the default 5 ms GIL switch interval a
        # connection thread holding a finished journal commit can wait that long to send its
        # ACK. 1 ms keeps the ACK path responsive at a small cost in throughput.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
        tls = server_context(s.mllp_tls_cert, s.mllp_tls_key, s.mllp_tls_ca)
        second = tls is not None and (tls_port is not None or s.mllp_tls_port > 0)

        def listener(at: int, context: Any) -> MllpServer:
            server = MllpServer(
                guard(self.pipeline.receive, parse_allowed(s.mllp_allowed_senders)),
                s.mllp_host,
                at,
                max_message_bytes=s.mllp_max_message_bytes,
                idle_timeout=s.mllp_idle_timeout_seconds,
                tls=context,
            ).start()
            self.stoppers.append(server.stop)
            return server

        self.mllp = listener(s.mllp_port if port is None else port, None if second else tls)
        if second:
            self.mllp_tls = listener(s.mllp_tls_port if tls_port is None else tls_port, tls)
        return self.mllp

    def start_outbound(self, interval: float = 0.5) -> OutboundSender:
        """The outbound sender (A08/A40 to subscribers), when any destination is configured."""
        self.outbound = OutboundSender(self.uow_factory, self.destinations, interval).start()
        self.stoppers.append(self.outbound.stop)
        return self.outbound

    def start_scheduler(self) -> SchedulerLeader:
        """Compete for the scheduler lease; jobs run here only while this process holds it."""
        from config.scheduler import SchedulerLeader

        self.scheduler = SchedulerLeader(self).start()
        self.stoppers.append(self.scheduler.stop)
        return self.scheduler

    def stop(self) -> None:
        while self.stoppers:
            try:
                self.stoppers.pop()()
            except Exception:
                log.exception("error while stopping")
        self.pipeline.stop()
        self.publisher.stop()
        self.engine.dispose()


def bootstrap(
    settings: Settings,
    emit: Emit | None = None,
    engine: Engine | None = None,
    emit_kiosk: Emit | None = None,
    chained: Emitters | None = None,
) -> Services:
    """Wire a ``Services``. ``emit``/``emit_kiosk`` push boards; ``chained``, when given,
    pushes the patches of the shared chain instead (see ``BoardPublisher``)."""
    engine = engine or make_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    destinations = (
        Destinations.load(settings.hl7_destinations_file)
        if settings.hl7_destinations_file
        else Destinations()
    )
    uow_factory = UnitOfWorkFactory(
        engine,
        before_commit=(
            bump_ward_versions,
            audit_record_changes,
            OutboxHook(destinations),
            observation_summary.SummaryHook(settings.timezone, settings.clinical),
        ),
    )
    observation_summary.track_changes(uow_factory.listen)
    clock = Clock()
    publisher = BoardPublisher(
        sessions,
        emit or _no_emit,
        settings.timezone,
        settings.clinical,
        clock.now,
        emit_kiosk,
        # A process that pushes nowhere must not write the shared chain: boards would get
        # patches against snapshots they were never sent.
        chain=push_chain(settings) if emit is not None else LocalChain(),
        chained=chained,
    )
    audit = AuditLog(sessions, uow_factory)
    event_handlers: dict[type, list[Callable[[Any], None]]] = {
        events.Event: [publisher.on_event],
    }
    handlers = {
        **COMMAND_HANDLERS,
        **MPI_COMMAND_HANDLERS,
        **GP_HANDLERS,
        **bind_rules(settings.clinical),
        **bind_shift_times(ShiftTimes.from_settings(settings)),
    }
    bus = MessageBus(uow_factory, handlers, event_handlers)
    spool_file = spool_path(settings.database_url) if settings.hl7_spool else None
    pipeline = InboundPipeline(
        uow_factory,
        bus,
        ZoneInfo(settings.timezone),
        senders=load_senders(settings),
        spool=Spool(spool_file) if spool_file is not None else None,
    )
    if settings.board_push_enabled:
        publisher.start()
    services = Services(
        settings, engine, sessions, uow_factory, bus, pipeline, publisher, clock, audit
    )
    services.destinations = destinations
    return services


def push_chain(settings: Settings) -> PushChain:
    """The chain of last pushes: shared through Redis when the site has one, else this
    process's own (whiteboard/board/chain.py)."""
    if settings.redis_url:
        return RedisChain.from_url(settings.redis_url, settings.redis_channel)
    return LocalChain()


def load_senders(settings: Settings) -> SenderDirectory:
    """Per-sender HL7 policy; raises ``SenderConfigError`` with a clear message when bad."""
    if settings.hl7_apply_mode not in (SYNC, ASYNC):
        raise SenderConfigError(
            f"WARDBOARD_HL7_APPLY_MODE must be 'sync' or 'async', not {settings.hl7_apply_mode!r}"
        )
    if not settings.hl7_senders_file:
        return SenderDirectory(SenderPolicy(apply=settings.hl7_apply_mode))
    return SenderDirectory.load(settings.hl7_senders_file, settings.hl7_apply_mode)


def _no_emit(_ward: str, _event: str, _payload: dict[str, Any]) -> None:
    return None
