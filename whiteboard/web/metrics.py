"""GET /metrics: Prometheus metrics for the hospital's IT team (docs/METRICS.md).

Two kinds of figure:

- read from the database on every scrape (HL7 journal by state, error queue, apply backlog,
  outbound queue): one aggregate query each, so every process sharing the database reports
  the same truth and nothing is lost when a process restarts;
- this process's own (board pushes and their durations, Socket.IO clients, the MLLP
  listener, the scheduler lease, and prometheus_client's process and platform figures).

Each app has its own ``CollectorRegistry`` made by ``install(app)``; nothing is registered at
import, so tests that build many apps never collide. Who may scrape: whiteboard/auth/policy.py
(``metrics.view``: administrators, managers, and a scraper with WARDBOARD_METRICS_TOKEN).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from config.bootstrap import Services
from integration import journal
from integration.outbound import queue as outbound_queue

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)

REGISTRY_KEY = "wardboard_metrics"


def _age_seconds(now: datetime, then: datetime | None) -> float:
    return 0.0 if then is None else max(0.0, (now - then).total_seconds())


class DatabaseCollector(Collector):
    """Queue depths read from the database when scraped (the same in every process)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def collect(self) -> Iterator[Metric]:
        svc = self._services
        up = GaugeMetricFamily(
            "wardboard_database_up",
            "1 if the database answered this scrape's queries, 0 if not (then the HL7 queue "
            "figures are missing from this scrape)",
        )
        try:
            with svc.read_session() as session:
                states = journal.count_by_state(session)
                by_type = journal.error_queue_by_type(session)
                oldest = journal.oldest_unapplied_received_at(session)
                backlog = outbound_queue.backlog_by_destination(session)
            spool = svc.pipeline.spool  # SQLite: received, not yet moved into the journal
            if spool is not None:
                spooled, spooled_since = spool.waiting()
                states[journal.RECEIVED] += spooled
                oldest = min((t for t in (oldest, spooled_since) if t is not None), default=None)
        except Exception as exc:  # the scrape still answers, with wardboard_database_up 0
            log.warning("metrics: the database queries failed: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        now = svc.clock.now()

        journalled = GaugeMetricFamily(
            "wardboard_hl7_journal_messages",
            "HL7 messages in the journal by state: received (not applied yet), applied, "
            "failed (AE), rejected (AR); retention deletes old applied/rejected ones",
            labels=["state"],
        )
        for state, n in states.items():
            journalled.add_metric([state], n)
        yield journalled

        depth = GaugeMetricFamily(
            "wardboard_hl7_error_queue_messages",
            "The error queue: journalled messages that failed or were rejected, waiting for "
            "a person (python run.py hl7 errors / replay)",
            value=sum(states[s] for s in journal.ERROR_STATES),
        )
        yield depth

        kinds = GaugeMetricFamily(
            "wardboard_hl7_error_queue_messages_by_type",
            'The error queue by HL7 message type, e.g. "ADT^A01" ("" when unreadable)',
            labels=["message_type"],
        )
        for kind, n in sorted(by_type.items()):
            kinds.add_metric([kind], n)
        yield kinds

        pending = GaugeMetricFamily(
            "wardboard_hl7_apply_backlog_messages",
            "Journalled and acknowledged but not applied yet (async senders; normally near 0)",
            value=states[journal.RECEIVED],
        )
        yield pending

        pending_age = GaugeMetricFamily(
            "wardboard_hl7_apply_backlog_oldest_seconds",
            "Age of the oldest message waiting to be applied (0 when none waits)",
            value=_age_seconds(now, oldest),
        )
        yield pending_age

        destinations = sorted(set(svc.destinations.endpoints) | set(backlog))
        out_pending = GaugeMetricFamily(
            "wardboard_hl7_outbound_pending_messages",
            "Outbound HL7 messages not yet acknowledged, per destination (being retried)",
            labels=["destination"],
        )
        out_failed = GaugeMetricFamily(
            "wardboard_hl7_outbound_failed_messages",
            "Outbound HL7 messages the destination refused (AR/CR): not retried, need a person",
            labels=["destination"],
        )
        out_age = GaugeMetricFamily(
            "wardboard_hl7_outbound_oldest_pending_seconds",
            "Age of the oldest pending outbound message per destination (0 when none)",
            labels=["destination"],
        )
        for name in destinations:
            b = backlog.get(name, outbound_queue.Backlog())
            out_pending.add_metric([name], b.pending)
            out_failed.add_metric([name], b.failed)
            out_age.add_metric([name], _age_seconds(now, b.oldest_pending_at))
        yield from (out_pending, out_failed, out_age)


class ProcessStateCollector(Collector):
    """This process's own figures: board pushes, Socket.IO clients, MLLP, scheduler."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def collect(self) -> Iterator[Metric]:
        svc = self._services
        publisher = svc.publisher
        pushes = CounterMetricFamily(
            "wardboard_board_pushes",
            "Ward snapshots pushed to boards by this process",
            value=publisher.pushes,
        )
        failures = CounterMetricFamily(
            "wardboard_board_push_failures",
            "Board pushes that failed with an error in this process (see the log)",
            value=publisher.failures,
        )
        last = GaugeMetricFamily(
            "wardboard_board_last_push_seconds",
            "How long the last board push took (build the snapshot and emit it)",
            value=publisher.last_push_seconds,
        )
        whole = CounterMetricFamily(
            "wardboard_board_whole_pushes",
            "Pushes sent as whole boards because the shared chain (Redis) could not be used",
            value=publisher.whole_pushes,
        )
        superseded = CounterMetricFamily(
            "wardboard_board_pushes_superseded",
            "Pushes not sent because another process had already pushed a later version",
            value=publisher.superseded,
        )
        yield from (pushes, failures, last, whole, superseded)

        yield self._socket_clients()

        mllp = svc.mllp
        if mllp is not None:
            listening = GaugeMetricFamily(
                "wardboard_mllp_listening",
                "1 if this process's MLLP listener is accepting",
                value=1 if mllp.listening else 0,
            )
            connections = GaugeMetricFamily(
                "wardboard_mllp_connections",
                "Open MLLP connections to this process",
                value=mllp.open_connections,
            )
            received = CounterMetricFamily(
                "wardboard_mllp_messages_received",
                "HL7 messages received over MLLP by this process since it started",
                value=mllp.messages_received,
            )
            yield from (listening, connections, received)

        scheduler = svc.scheduler
        if scheduler is not None:
            leader = GaugeMetricFamily(
                "wardboard_scheduler_leader",
                "1 if this process holds the scheduler lease (exactly one process should)",
                value=1 if scheduler.is_leader else 0,
            )
            yield leader

    @staticmethod
    def _socket_clients() -> Metric:
        from whiteboard.web.socket import NAMESPACE, SESSION_NAMESPACE, socketio

        clients = GaugeMetricFamily(
            "wardboard_socketio_clients",
            "Socket.IO clients connected to this process, per namespace (/board: boards)",
            labels=["namespace"],
        )
        server = getattr(socketio, "server", None)
        manager = getattr(server, "manager", None)
        for namespace in (NAMESPACE, SESSION_NAMESPACE):
            n = 0
            if manager is not None:
                try:
                    sids = [sid for sid, _ in manager.get_participants(namespace, None)]
                    n = sum(1 for sid in sids if manager.is_connected(sid, namespace))
                except (KeyError, RuntimeError):  # a client came or went while counting
                    n = 0
            clients.add_metric([namespace], n)
        return clients


def build_registry(services: Services) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(DatabaseCollector(services))
    registry.register(ProcessStateCollector(services))
    push_seconds = Histogram(
        "wardboard_board_push_seconds",
        "Time to build a ward's snapshot and push it to its boards, in this process",
        registry=registry,
    )
    services.publisher.observe_push_seconds = push_seconds.observe
    return registry


def install(app: Flask) -> None:
    """Make this app's registry and serve it at GET /metrics."""
    app.extensions[REGISTRY_KEY] = build_registry(app.extensions["wardboard"])
    app.register_blueprint(bp)


@bp.get("/metrics")
def metrics() -> Response:
    registry: CollectorRegistry = current_app.extensions[REGISTRY_KEY]
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encoder(registry), status=200, headers={"Content-Type": content_type})
