"""GET /healthz: is the database reachable, is the listener listening, is the scheduler up,
and (when processes run apart) is Redis, which carries board pushes between them, answering.

No login needed: load balancers and monitoring call it. 503 when anything is down.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from config.services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    svc = services()
    checks: dict[str, Any] = {}
    try:
        with svc.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = {"ok": True, "backend": svc.engine.dialect.name}
    except Exception as exc:
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    mllp = svc.mllp
    checks["mllp"] = (
        {
            "ok": mllp.listening,
            "port": mllp.port,
            "connections": mllp.open_connections,
            "messages_received": mllp.messages_received,
            "tls": mllp.tls is not None,
        }
        if mllp is not None
        else {"ok": True, "enabled": False}
    )
    if svc.mllp_tls is not None:
        second = svc.mllp_tls
        checks["mllp_tls"] = {
            "ok": second.listening,
            "port": second.port,
            "connections": second.open_connections,
            "messages_received": second.messages_received,
            "tls": True,
        }
    scheduler = svc.scheduler
    checks["scheduler"] = (
        {
            # A standby (not the lease holder) is healthy: it takes over if the leader dies.
            "ok": scheduler.running,
            "role": "leader" if scheduler.is_leader else "standby",
            "holder": scheduler.holder,
        }
        if scheduler is not None
        else {"ok": True, "enabled": False}
    )
    publisher = svc.publisher
    # Pushes keep going without the shared chain (whole boards), so it does not make this
    # process unhealthy; it says which chain is in use and whether it was usable last time.
    checks["board_push"] = {
        "ok": True,
        "pushes": publisher.pushes,
        "chain": "redis" if publisher.chain_shared else "process",
        "chain_ok": publisher.chain_ok,
        "whole_pushes_without_chain": publisher.whole_pushes,
    }
    if svc.settings.redis_url:
        checks["redis"] = _redis_check(svc.settings.redis_url)
    healthy = all(part["ok"] for part in checks.values())
    body = {"status": "ok" if healthy else "degraded", **checks}
    return jsonify(body), 200 if healthy else 503


def _redis_check(url: str) -> dict[str, Any]:
    """One PING with a short timeout: a board push lost to a Redis outage must show here."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
        return {"ok": True}
    except redis.RedisError as exc:
        return {"ok": False, "error": type(exc).__name__}
    finally:
        client.close()
