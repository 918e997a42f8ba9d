"""The Flask application factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from config.bootstrap import Services, bootstrap
from config.settings import Settings
from integration.web import api as hl7_api
from integration.web import monitor as hl7_monitor
from mpi.web import api as mpi_api
from mpi.web import pages as mpi_pages
from whiteboard.board.publisher import Emitters
from whiteboard.web import (
    access,
    admin,
    allocation,
    api,
    audit,
    auth,
    boards,
    clinical_api,
    gp,
    health,
    metrics,
    patients,
    reports,
    workload,
)
from whiteboard.web.events import register_socket_handlers, start_socket_recheck
from whiteboard.web.problems import register_problem_handlers
from whiteboard.web.socket import QueueEmitter, emit_board, emit_kiosk_board, socketio

log = logging.getLogger(__name__)


def create_app(
    test_config: Mapping[str, Any] | None = None, *, settings: Settings | None = None
) -> Flask:
    """Build the app. ``test_config`` overrides settings fields by name (as tests do)."""
    settings = settings or Settings.from_env(**dict(test_config or {}))
    settings = settings.with_secret()
    app = Flask(
        __name__,
        instance_path=str(settings.instance_path),
        template_folder="../whiteboard/templates",
        static_folder="../whiteboard/static",
    )
    app.config.update(SECRET_KEY=settings.secret_key, JSON_SORT_KEYS=False)

    chained = None
    if settings.redis_url:
        queue = QueueEmitter(settings.redis_url, settings.redis_channel)
        chained = Emitters(queue.board, queue.kiosk_board)
    services: Services = bootstrap(
        settings, emit=emit_board, emit_kiosk=emit_kiosk_board, chained=chained
    )
    app.extensions["wardboard"] = services

    socketio.init_app(
        app,
        async_mode="threading",
        message_queue=settings.redis_url or None,
        channel=settings.redis_channel,
        logger=False,
        engineio_logger=False,
    )
    register_socket_handlers(app, socketio)
    if settings.socket_recheck_seconds > 0:
        start_socket_recheck(app, socketio, settings.socket_recheck_seconds)

    access.install(app)  # the permission policy on every request, security headers
    auth.install_csrf(app)  # CSRF on every form and cookie-authenticated POST
    app.register_blueprint(auth.bp)
    app.register_blueprint(boards.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(clinical_api.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(mpi_api.bp)
    app.register_blueprint(mpi_pages.bp)
    app.register_blueprint(hl7_api.bp)
    app.register_blueprint(hl7_monitor.bp)
    app.register_blueprint(patients.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(gp.bp)
    app.register_blueprint(allocation.bp)
    app.register_blueprint(workload.bp)
    metrics.install(app)  # GET /metrics with this app's own Prometheus registry

    @app.context_processor
    def security_context() -> dict[str, Any]:
        return {
            "principal": access.current_principal(),
            "idle_lock_seconds": settings.idle_lock_seconds,
        }

    register_problem_handlers(app)

    return app


def app_services(app: Flask) -> Services:
    return app.extensions["wardboard"]
