"""The outbound queue: durable, ordered per destination, retried until acknowledged.

Rows are written by ``OutboxHook`` in the same transaction as the change they announce, so a
committed correction or merge is always sent and a rolled-back one never is. ``OutboundSender``
sends each destination's oldest pending message, and nothing after it until it is settled:
AA/CA with MSA-2 equal to our MSH-10 -> sent; AR/CR -> failed for good (visible; the queue
moves on); AE/CE, a wrong MSA-2, no answer or no connection -> retried with exponential
backoff (2 s doubling, at most 5 min).
"""

from __future__ import annotations

import itertools
import logging
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Index, LargeBinary, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, selectinload

from config.db import Base, UTCDateTime, utcnow
from integration.journal import InboundMessage
from integration.mllp.client import MllpClient
from integration.outbound.builders import build_a08, build_a40, build_orm
from mpi.events import PatientDetailsCorrected, PatientsMerged
from mpi.merge_record import MergeRecord
from mpi.models import Patient, PatientIdentifier
from whiteboard import events
from whiteboard.models.orders import Order, Result
from whiteboard.order_handlers import wards_of

log = logging.getLogger(__name__)

PENDING, SENT, FAILED = "pending", "sent", "failed"
_ids = itertools.count(1)


class OutboundMessage(Base):
    __tablename__ = "outbound_message"
    __table_args__ = (
        Index("ix_outbound_message_destination_state_id", "destination", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    destination: Mapped[str] = mapped_column(String(60))
    message_type: Mapped[str] = mapped_column(String(20))
    control_id: Mapped[str] = mapped_column(String(40), unique=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    ack: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DestinationConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Destinations:
    """``WARDBOARD_HL7_DESTINATIONS_FILE``::

    [destinations.PASMIRROR]
    host = "10.0.0.5"
    port = 2575

    [subscribers]
    patient_changes = ["PASMIRROR"]   # A08 on corrections, A40 on merges
    """

    endpoints: dict[str, tuple[str, int]] = field(default_factory=dict)
    patient_changes: tuple[str, ...] = ()
    order_default: str = ""  # where orders go when no prefix matches (e.g. the lab)
    order_prefixes: dict[str, str] = field(default_factory=dict)  # OBR-4 prefix -> destination
    practices: dict[str, str] = field(default_factory=dict)  # ODS code -> practice inbox

    def order_route(self, service_code: str) -> str:
        for prefix, dest in sorted(self.order_prefixes.items(), key=lambda kv: -len(kv[0])):
            if service_code.upper().startswith(prefix.upper()):
                return dest
        return self.order_default

    @classmethod
    def load(cls, path: str) -> Destinations:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise DestinationConfigError(f"cannot read destinations file {path}: {exc}") from None
        endpoints = {}
        for name, spec in dict(data.get("destinations", {})).items():
            try:
                endpoints[str(name)] = (str(spec["host"]), int(spec["port"]))
            except (KeyError, TypeError, ValueError):
                raise DestinationConfigError(
                    f"{path}: destinations.{name} needs host and port"
                ) from None
        subscribers = tuple(dict(data.get("subscribers", {})).get("patient_changes", []))
        routes = dict(data.get("order_routes", {}))
        default = str(routes.pop("default", ""))
        prefixes = {str(k): str(v) for k, v in dict(routes.get("prefixes", {})).items()}
        practices = {str(k): str(v) for k, v in dict(data.get("practices", {})).items()}
        named = [*subscribers, *prefixes.values(), *practices.values()]
        if default:
            named.append(default)
        unknown = sorted({s for s in named if s not in endpoints})
        if unknown:
            raise DestinationConfigError(f"{path}: unknown destination(s) {', '.join(unknown)}")
        return cls(endpoints, subscribers, default, prefixes, practices)


def _control_id(now: datetime) -> str:
    return f"WBO{now:%Y%m%d%H%M%S%f}{next(_ids) % 10000:04d}"


class OutboxHook:
    """A unit-of-work before-commit hook: queue A08/A40 for the events of this transaction."""

    def __init__(self, destinations: Destinations) -> None:
        self.destinations = destinations

    def __call__(self, session: Session, pending_events: list[Any]) -> None:
        if not self.destinations.endpoints:
            return
        now = utcnow()
        corrected: set[int] = set()
        loaded = self._load_patients(session, pending_events)
        for event in pending_events:
            if isinstance(event, events.OrderPlaced):
                self._forward_order(session, event.order_id, now)
            elif isinstance(event, events.ResultReceived):
                self._forward_result(session, event.result_id, now)
            elif isinstance(event, events.PatientDetailsChanged | PatientDetailsCorrected):
                if event.patient_id in corrected:
                    continue  # one A08 per patient per transaction carries every change
                corrected.add(event.patient_id)
                patient = loaded.get(event.patient_id) or session.get(Patient, event.patient_id)
                if patient is None:
                    continue
                for dest in self.destinations.patient_changes:
                    cid = _control_id(now)
                    self._queue(session, dest, "ADT^A08", cid, build_a08(patient, cid, now), now)
            elif isinstance(event, PatientsMerged):
                self._forward_merge(session, event.merge_id, now)

    def _load_patients(self, session: Session, pending_events: list[Any]) -> dict[int, Patient]:
        """Every patient an A08 is due for, with identifiers, a thousand a query: a GP feed
        chunk may announce thousands, and two queries each were most of this hook's time."""
        if not self.destinations.patient_changes:
            return {}
        kinds = events.PatientDetailsChanged | PatientDetailsCorrected
        ids = sorted({e.patient_id for e in pending_events if isinstance(e, kinds)})
        if len(ids) < 2:
            return {}
        loaded: dict[int, Patient] = {}
        for start in range(0, len(ids), 1000):
            query = (
                select(Patient)
                .where(Patient.id.in_(ids[start : start + 1000]))
                .options(selectinload(Patient.identifiers))
            )
            loaded.update((p.id, p) for p in session.scalars(query))
        return loaded

    def _forward_merge(self, session: Session, merge_id: int, now: datetime) -> None:
        """A40 for every merge, from HL7 or from the clerks' page (the seed's "the central
        system updates all other related systems")."""
        record = session.get(MergeRecord, merge_id)
        survivor = session.get(Patient, record.survivor_id) if record else None
        if record is None or survivor is None:
            return
        moved_ids = sorted(i for i, _source in record.moved.get("identifiers", []))
        prior_identifier = session.get(PatientIdentifier, moved_ids[0]) if moved_ids else None
        prior_nhs = record.before.get("merged", {}).get("nhs_number")
        for dest in self.destinations.patient_changes:
            cid = _control_id(now)
            payload = build_a40(survivor, prior_identifier, prior_nhs, cid, now)
            self._queue(session, dest, "ADT^A40", cid, payload, now)

    def _forward_order(self, session: Session, order_id: int, now: datetime) -> None:
        """A new order goes on to the performing department (lab, radiology) by OBR-4: a GP's
        ORM as received (readdressed), a clinician's web order as an ORM built from the
        record."""
        order = session.get(Order, order_id)
        if order is None:
            return
        dest = self.destinations.order_route(order.service_code)
        if not dest:
            return
        cid = _control_id(now)
        raw = _journal_raw(session, order.source)
        if raw is None and order.source.startswith("web"):
            patient = session.get(Patient, order.patient_id)
            if patient is None:
                return
            wards = wards_of(session, order.patient_id)
            raw = build_orm(order, patient, cid, now, wards[0] if wards else None)
        if raw is not None:
            self._queue(session, dest, "ORM", cid, readdress(raw, dest, cid), now)

    def _forward_result(self, session: Session, result_id: int, now: datetime) -> None:
        """A result goes to the ordering practice's inbox (ODS code); a result without a
        known order or practice stays visible in the API and is not forwarded."""
        result = session.get(Result, result_id)
        if result is None or result.order_id is None:
            return
        order = session.get(Order, result.order_id)
        practice = order.ordering_practice if order else None
        dest = self.destinations.practices.get(practice or "")
        raw = _journal_raw(session, result.source)
        if dest and raw is not None:
            cid = _control_id(now)
            self._queue(session, dest, "ORU^R01", cid, readdress(raw, dest, cid), now)

    @staticmethod
    def _queue(
        session: Session, dest: str, kind: str, cid: str, payload: bytes, now: datetime
    ) -> None:
        session.add(
            OutboundMessage(
                destination=dest,
                message_type=kind,
                control_id=cid,
                payload=payload,
                next_attempt_at=now,
                created_at=now,
            )
        )


def _journal_raw(session: Session, source: str) -> bytes | None:
    """The received message behind a command's ``source`` ("hl7:<journal id>")."""
    if not source.startswith("hl7:"):
        return None
    try:
        entry_id = int(source[4:])
    except ValueError:
        return None
    entry = session.get(InboundMessage, entry_id)
    return entry.raw if entry is not None else None


def readdress(raw: bytes, destination: str, control_id: str) -> bytes:
    """The same message from us: MSH-3/4 WARDBOARD, MSH-5 the destination, our MSH-10."""
    text = raw.replace(b"\r\n", b"\r").replace(b"\n", b"\r")
    first, _, rest = text.partition(b"\r")
    sep = first[3:4]
    fields = first.split(sep)
    while len(fields) < 12:
        fields.append(b"")
    fields[2] = fields[3] = b"WARDBOARD"
    fields[4] = destination.encode()
    fields[9] = control_id.encode()
    return sep.join(fields) + b"\r" + rest


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts, 1), 300))


class OutboundSender:
    """One thread; each pass sends the head of every destination's queue that is due."""

    def __init__(
        self,
        uow_factory: Callable[[], Any],
        destinations: Destinations,
        interval: float = 0.5,
        timeout: float = 10.0,
    ) -> None:
        self.uow_factory = uow_factory
        # SQLite means one process; on PostgreSQL every MLLP process may run a sender.
        self._single_process = bool(getattr(uow_factory, "single_writer", True))
        self.destinations = destinations
        self.interval = interval
        self.timeout = timeout
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> OutboundSender:
        self._thread = threading.Thread(target=self._run, name="hl7-outbound", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.send_due()
            except Exception:
                log.exception("outbound pass failed")

    def send_due(self) -> int:
        """Try the head of each destination's queue once; returns how many were settled."""
        now = utcnow()
        with self.uow_factory() as uow:
            heads = uow.session.execute(
                select(OutboundMessage.destination, func.min(OutboundMessage.id))
                .where(OutboundMessage.state == PENDING)
                .group_by(OutboundMessage.destination)
            ).all()
        send = self._send_head if self._single_process else self._send_head_locked
        return sum(send(dest, head_id, now) for dest, head_id in heads)

    def _send_head(self, dest: str, head_id: int, now: datetime) -> int:
        """SQLite (one process): read, deliver outside any transaction, record."""
        with self.uow_factory() as uow:
            msg = uow.session.get(OutboundMessage, head_id)
            if msg is None or msg.state != PENDING or msg.next_attempt_at > now:
                return 0  # not due: later messages for this destination wait behind it
            payload, cid = msg.payload, msg.control_id
        # Not inside the unit of work: on SQLite it holds the one write lock, and a slow
        # destination must not stall the HL7 applier.
        state, error, ack = self._deliver(dest, payload, cid)
        with self.uow_factory() as uow:
            settled = self._record(uow.session.get_one(OutboundMessage, head_id), state, error, ack)
            uow.commit()
        return settled

    def _send_head_locked(self, dest: str, head_id: int, now: datetime) -> int:
        """PostgreSQL: several listener processes run a sender each; the head row stays locked
        while it is delivered, so another process skips it instead of sending it again."""
        with self.uow_factory() as uow:
            msg = uow.session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.id == head_id)
                .with_for_update(skip_locked=True)
            ).first()
            if msg is None or msg.state != PENDING or msg.next_attempt_at > now:
                return 0
            state, error, ack = self._deliver(dest, msg.payload, msg.control_id)
            settled = self._record(msg, state, error, ack)
            uow.commit()
        return settled

    @staticmethod
    def _record(msg: OutboundMessage, state: str, error: str | None, ack: bytes | None) -> int:
        msg.attempts += 1
        msg.ack = ack
        msg.last_error = error
        if error:
            log.warning("outbound %s to %s: %s", msg.control_id, msg.destination, error)
        if state == PENDING:
            msg.next_attempt_at = utcnow() + backoff(msg.attempts)
            return 0
        msg.state = state
        msg.sent_at = utcnow() if state == SENT else None
        return 1

    def _deliver(self, dest: str, payload: bytes, cid: str) -> tuple[str, str | None, bytes | None]:
        endpoint = self.destinations.endpoints.get(dest)
        if endpoint is None:
            return FAILED, f"destination {dest} is not configured", None
        try:
            with MllpClient(endpoint[0], endpoint[1], timeout=self.timeout) as client:
                ack = client.send(payload)
        except OSError as exc:
            return PENDING, f"cannot deliver: {exc}", None
        msa = next((s for s in ack.split(b"\r") if s.startswith(b"MSA")), b"")
        fields = msa.split(msa[3:4]) if len(msa) > 3 else []
        code = fields[1].decode("ascii", "replace") if len(fields) > 1 else ""
        echoed = fields[2].decode("ascii", "replace") if len(fields) > 2 else ""
        if echoed != cid:
            return PENDING, f"MSA-2 {echoed!r} does not match our MSH-10 {cid!r}", ack
        if code in ("AA", "CA"):
            return SENT, None, ack
        if code in ("AR", "CR"):
            return FAILED, "rejected by the receiver (AR): not retried", ack
        return PENDING, f"receiver answered {code or 'nothing usable'}; will retry", ack


@dataclass(frozen=True)
class Backlog:
    """One destination's undelivered messages (for monitoring: whiteboard/web/metrics.py)."""

    pending: int = 0  # still being tried
    failed: int = 0  # refused (AR/CR) for good: a person must look
    oldest_pending_at: datetime | None = None


def backlog_by_destination(session: Session) -> dict[str, Backlog]:
    """Pending and failed messages per destination, in one query; sent ones are not read."""
    rows = session.execute(
        select(
            OutboundMessage.destination,
            OutboundMessage.state,
            func.count(),
            func.min(OutboundMessage.created_at),
        )
        .where(OutboundMessage.state.in_((PENDING, FAILED)))
        .group_by(OutboundMessage.destination, OutboundMessage.state)
    )
    backlog: dict[str, Backlog] = {}
    for destination, state, n, oldest in rows:
        was = backlog.get(destination, Backlog())
        if state == PENDING:
            backlog[destination] = Backlog(n, was.failed, oldest)
        else:
            backlog[destination] = Backlog(was.pending, n, was.oldest_pending_at)
    return backlog
