"""The processes a larger site runs apart: web, MLLP listener, scheduler.

``run.py serve`` keeps everything in one process for a small site. Apart, the processes share
the database and reach each other's boards through Redis: a change applied in an MLLP or
scheduler process is published by Flask-SocketIO's write-only emitter on the Redis channel,
and every web process delivers it to the boards it holds. Web processes run under gunicorn's
threaded worker, the production server Flask-SocketIO documents for its threading mode.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from config.bootstrap import Services, bootstrap
from config.settings import Settings

log = logging.getLogger(__name__)


class ProcessConfigError(Exception):
    """A process cannot start with these settings; the message says what to change."""


def board_emitters(settings: Settings) -> dict[str, Any]:
    """Board push for a process with no web server: through Redis, or nowhere without it.

    Returns keyword arguments for ``bootstrap``. Binding the shared ``socketio`` object with
    no app makes it a write-only client of the message queue, as Flask-SocketIO documents for
    "emitting from an external process".
    """
    if not settings.redis_url:
        log.warning(
            "WARDBOARD_REDIS_URL is not set: boards held by web processes will not hear of "
            "changes made here until they reconnect"
        )
        return {}
    from whiteboard.web.socket import emit_board, emit_kiosk_board, socketio

    socketio.init_app(None, message_queue=settings.redis_url, channel=settings.redis_channel)
    return {"emit": emit_board, "emit_kiosk": emit_kiosk_board}


def headless_services(settings: Settings) -> Services:
    """Services for an MLLP or scheduler process: migrated database, pushes via Redis."""
    from config.migrate import upgrade

    services = bootstrap(settings, **board_emitters(settings))
    try:
        upgrade(services.engine)
    except Exception:
        services.stop()
        raise
    return services


def settle_heap() -> None:
    """Move everything built at start-up (modules, mappers, compiled statements, the layout)
    out of the garbage collector's sight, once a long-running process is ready to serve.

    A full collection scans every tracked object; in an MLLP process that was a pause of
    100-200 ms every few seconds under load (py-spy and ``gc.callbacks`` on the listener at
    100 messages/s), holding the GIL while ACKs wait: the ~20 messages arriving during it were
    a good part of the p99. Frozen objects are never scanned (nor freed: they live as long as
    the process anyway), so later collections look only at what was made since (some 36,000
    objects after 1,500 messages against 150,000: a full collection 6 ms rather than ~25 ms on
    a quiet machine). Full collections are also made ten times rarer (after 100 collections
    of the middle generation rather than 10): what survives that long here is caches, not
    garbage.
    """
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, max(old, 100))


def wait_for_stop(stop: threading.Event | None = None) -> None:
    """Block until SIGTERM or Ctrl-C: how a service manager or a terminal ends a process."""
    stop = stop or threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass


def web_settings(settings: Settings) -> Settings:
    """Settings for one of several web processes, refused here rather than half-working.

    Web processes only agree on sessions if they share a secret key, and only see changes
    made by other processes through Redis. The scheduler runs in its own process.
    """
    if not settings.secret_key:
        raise ProcessConfigError(
            "run.py web needs WARDBOARD_SECRET_KEY: every web process must sign sessions with "
            "the same key (python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    if not settings.redis_url:
        log.warning(
            "WARDBOARD_REDIS_URL is not set: this web process hears only its own changes; "
            "HL7 applied by a separate MLLP process will not reach its boards"
        )
    return settings.replace(scheduler_enabled=False)


def web_app(settings: Settings) -> Callable[..., Any]:
    """The app of a web process's gunicorn worker, its start-up heap settled (``settle_heap``).

    ``run.py serve`` and ``run.py mllp`` settle theirs; the web worker did not, so each full
    collection scanned every module, mapper and template loaded at start-up besides what its
    boards made since: 170-360 ms in a 500-board run (``gc.callbacks`` in the worker,
    docs/BENCHMARKS.md, 2026-12-01 evening), once or twice in 40 s, holding the GIL, so the
    worker's Redis listener handed that moment's pushes to its 250 boards that much later.
    """
    from config.app import create_app

    app = create_app(settings=settings)
    settle_heap()
    return app


def serve_web(settings: Settings, threads: int, workers: int = 1) -> None:
    """Run the web app under gunicorn's threaded worker; ``settings`` from ``web_settings``.

    Flask-SocketIO's threading mode needs each board to stay on the worker it connected to,
    and gunicorn does not route by client; so a site scales out by running more web processes
    behind a reverse proxy with sticky sessions, each with ``--workers 1``.
    """
    from gunicorn.app.base import BaseApplication

    class WardboardWeb(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in {
                "bind": f"{settings.http_host}:{settings.http_port}",
                "worker_class": "gthread",
                "workers": workers,
                "threads": threads,
                # Boards hold a websocket for hours; gthread's timeout is for a stuck worker.
                "timeout": 120,
                # An idle keep-alive connection is cheap under gthread (it waits in the poller,
                # not on a thread). Gunicorn's 2 s default races clients and proxies that reuse
                # a connection after about 2 s idle: the request meets the close and fails
                # unanswered. The server must outwait the proxy (nginx and most load balancers
                # drop idle upstream connections at 60 s).
                "keepalive": 75,
                "graceful_timeout": 20,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
                "proc_name": "wardboard-web",
            }.items():
                self.cfg.set(key, value)

        def load(self) -> Callable[..., Any]:
            # Built in the worker, after the fork: threads and database pools never cross it.
            return web_app(settings)

    WardboardWeb().run()
