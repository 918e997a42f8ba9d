"""Log format for the processes run.py starts."""

from __future__ import annotations

import logging
import os


def configure_logging(level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or os.environ.get("WARDBOARD_LOG_LEVEL", "INFO")).upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # Request-by-request and socket chatter drown what operators need to see.
    for noisy in ("werkzeug", "engineio.server", "socketio.server", "apscheduler.executors"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
