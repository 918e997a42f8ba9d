"""The audit log: who saw or changed which patient's record, when, from which workstation.

Append-only and tamper-evident: every row stores the SHA-256 of its own content chained to the
previous row's hash, so an edited or deleted row breaks ``verify`` from that row on. The
database refuses UPDATE and DELETE on the table (triggers in migration 0002). Appends are
serialised (a lock in this process, an advisory lock on PostgreSQL) so the chain never forks.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from config.db import utcnow
from config.unit_of_work import UnitOfWorkFactory
from whiteboard.auth.audit_model import AuditEntry
from whiteboard.auth.principal import Principal

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x57415544  # "WAUD"


def entry_hash(
    prev_hash: str,
    at: datetime,
    actor: str,
    role: str,
    action: str,
    patient_id: int | None,
    workstation: str,
    detail: str,
) -> str:
    body = json.dumps(
        [prev_hash, at.isoformat(), actor, role, action, patient_id, workstation, detail],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    entries: int
    first_bad_id: int | None = None


# actor, role, action, patient id, workstation, detail
Row = tuple[str, str, str, int | None, str, str]

# Who is changing the record in this thread: web actions set it to the signed-on principal;
# commands that arrive over HL7 keep the default.
CHANGED_BY: ContextVar[tuple[str, str, str]] = ContextVar(
    "audit_changed_by", default=("hl7", "system", "")
)


@contextmanager
def changed_by(principal: Principal | None) -> Iterator[None]:
    """Changes made while this is open are audited as the signed-on principal's, not HL7's."""
    if principal is None:
        yield
        return
    token = CHANGED_BY.set((principal.name, principal.role, principal.workstation))
    try:
        yield
    finally:
        CHANGED_BY.reset(token)


def _chained(session: Session, rows: list[Row]) -> list[dict[str, Any]]:
    """The column values of ``rows``, each hashed onto the one before it and the chain's end.

    Call inside the caller's write transaction. On SQLite that is BEGIN IMMEDIATE (it holds
    the write lock); on PostgreSQL an advisory lock held to commit serialises appenders, so
    two never chain to the same previous row.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    prev = session.scalars(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    prev = prev or GENESIS
    values = []
    for actor, role, action, patient_id, workstation, detail in rows:
        at = utcnow()
        actor, workstation = actor[:80], workstation[:64]
        digest = entry_hash(prev, at, actor, role, action, patient_id, workstation, detail)
        values.append(
            {
                "at": at,
                "actor": actor,
                "actor_role": role,
                "action": action,
                "patient_id": patient_id,
                "workstation": workstation,
                "detail": detail,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    return values


def append(session: Session, rows: list[Row]) -> list[AuditEntry]:
    """Append rows to the chain inside the caller's write transaction; the entries, flushed."""
    out = [AuditEntry(**v) for v in _chained(session, rows)]
    session.add_all(out)
    session.flush()
    return out


def append_rows(session: Session, rows: list[Row]) -> None:
    """``append`` without building ORM objects: the same chained rows, one executemany.

    For callers that never read the entries back (the unit-of-work hook): a bulk GP-feed
    chunk announces thousands of patients, and an ORM object each was a sixth of its time."""
    if not rows:
        return
    session.flush()  # pending ORM rows first, as append's flush would have written them
    session.execute(insert(AuditEntry.__table__), _chained(session, rows))  # type: ignore[arg-type]


def audit_record_changes(session: Session, events: list[Any]) -> None:
    """Unit-of-work hook: every change to a patient's record (HL7 or web command) is audited
    in the same transaction as the change, so neither can exist without the other."""
    rows: list[Row] = []
    for event in events:
        patient_id = getattr(event, "patient_id", None)
        if patient_id is None:
            continue
        detail = {
            k: getattr(event, k)
            for k in ("stay_id", "ward", "from_ward", "practice", "result_id", "order_id")
            if getattr(event, k, None) is not None
        }
        actor, role, workstation = CHANGED_BY.get()
        action = f"record.{type(event).__name__}"
        rows.append(
            (actor, role, action, patient_id, workstation, json.dumps(detail, sort_keys=True))
        )
    append_rows(session, rows)


class AuditLog:
    def __init__(self, sessions: sessionmaker[Session], uow_factory: UnitOfWorkFactory) -> None:
        self._sessions = sessions
        self._uow_factory = uow_factory  # writes: BEGIN IMMEDIATE and the writer lock on SQLite
        self._lock = threading.Lock()

    def record(
        self,
        action: str,
        *,
        principal: Principal | None = None,
        actor: str = "",
        role: str = "",
        patient_id: int | None = None,
        workstation: str = "",
        detail: str | dict[str, Any] = "",
    ) -> AuditEntry:
        if principal is not None:
            actor, role = principal.name, principal.role
            workstation = workstation or principal.workstation
        if isinstance(detail, dict):
            detail = json.dumps(detail, sort_keys=True, ensure_ascii=False)
        with self._lock, self._uow_factory() as uow:
            [entry] = append(
                uow.session, [(actor, role, action, patient_id, workstation, str(detail))]
            )
            uow.commit()
            return entry

    def search(
        self, *, patient_id: int | None = None, actor: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 1000)))
        if patient_id is not None:
            query = query.where(AuditEntry.patient_id == patient_id)
        if actor:
            query = query.where(AuditEntry.actor == actor)
        with self._sessions() as session:
            return [as_json(e) for e in session.scalars(query)]

    def verify(self) -> ChainCheck:
        prev = GENESIS
        count = 0
        with self._sessions() as session:
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(500):
                expected = entry_hash(
                    prev,
                    e.at,
                    e.actor,
                    e.actor_role,
                    e.action,
                    e.patient_id,
                    e.workstation,
                    e.detail,
                )
                if e.prev_hash != prev or e.hash != expected:
                    return ChainCheck(False, count, e.id)
                prev = e.hash
                count += 1
        return ChainCheck(True, count)


def as_json(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "role": e.actor_role,
        "action": e.action,
        "patient_id": e.patient_id,
        "workstation": e.workstation,
        "detail": e.detail,
        "hash": e.hash,
    }
