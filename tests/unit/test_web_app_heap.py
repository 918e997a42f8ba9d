"""A web process's worker settles its start-up heap, as ``run.py serve`` and ``mllp`` do."""

import config.app
import config.processes
from config.processes import web_app


def test_web_app_settles_the_heap_after_building_the_app(monkeypatch):
    calls = []
    monkeypatch.setattr(config.app, "create_app", lambda settings: calls.append("app") or "app")
    monkeypatch.setattr(config.processes, "settle_heap", lambda: calls.append("settled"))
    assert web_app(settings=object()) == "app"  # type: ignore[arg-type]
    assert calls == ["app", "settled"]
