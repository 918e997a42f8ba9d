"""Access to the running app's wired services from request and socket handlers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from config.bootstrap import Services


def services() -> Services:
    return current_app.extensions["wardboard"]
