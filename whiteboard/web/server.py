"""The HTTP request handler that dates responses by the services' clock.

Boards correct their own clocks by the HTTP ``Date`` header. Werkzeug writes that header
itself (a second one set by the app would be sent as well), so the handler's date function is
the one place to make it follow ``Services.clock``: a frozen or advanced clock then moves the
browsers' A&E clocks with the server's alerts.
"""

from __future__ import annotations

from email.utils import format_datetime
from typing import Any

from werkzeug.serving import WSGIRequestHandler


class ClockedRequestHandler(WSGIRequestHandler):
    def date_time_string(self, timestamp: float | None = None) -> str:
        app: Any = getattr(self.server, "app", None)
        services = getattr(app, "extensions", {}).get("wardboard") if app else None
        if timestamp is None and services is not None:
            return format_datetime(services.clock.now(), usegmt=True)
        return super().date_time_string(timestamp)
