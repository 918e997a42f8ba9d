"""The receive path: journal (group-committed), answer, apply in journal order.

Order matters and is the whole point: the raw bytes are committed to the journal before any
ACK is sent, so an acknowledged message is never lost; the change a message makes and the
journal's "applied" mark commit together (``journal.claim_applied``), so a resent or recovered
message is never applied twice; and the journal's unique (sender, MSH-10) makes a resend find
the first copy.

Each sender is "sync" or "async" (``integration.senders``):

- sync (the default): we apply before answering, so AA means stored and applied, and an
  apply failure comes back as AE (we failed; resend) or AR (the message is unacceptable).
- async: AA (CA in enhanced mode) as soon as the journal has committed the message, which
  then means "durably stored"; the applier applies it moments later in journal order, and a
  failure goes to the error queue (journal state failed/rejected) for a person to replay.

Either way the journal commit is shared by every connection (one fsync for all messages that
arrived together, led by one of their own threads) and the apply is done by one thread (one
message at a time, in order).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update

from config.db import utcnow
from config.messagebus import MessageBus
from config.unit_of_work import UnitOfWorkFactory
from integration import journal
from integration.applier import Applier, Job
from integration.batch import is_batch, receive_batch
from integration.hl7.ack import AckError, build_ack
from integration.hl7.charset import (
    UndecodableMessage,
    UnsupportedCharset,
    codec_for,
    decode,
    encode,
)
from integration.hl7.header import Header, MalformedHeader, read_header
from integration.hl7.reader import MessageReader, UnparseableMessage
from integration.journal import InboundMessage
from integration.journal_writer import JournalWriter, Stored, row
from integration.routing import Unroutable, route
from integration.senders import SenderDirectory
from integration.spool import Spool
from integration.translate.adt import TranslationError
from whiteboard.errors import RecordError

log = logging.getLogger(__name__)


class AlreadyApplied(Exception):
    """Another thread or process applied this journal entry first."""


@dataclass(frozen=True)
class Rejection:
    """A journal entry that cannot become a command (AR); recorded after the batch."""

    job: Job
    error: AckError


@dataclass(frozen=True)
class Outcome:
    ack: bytes
    code: str
    entry_id: int | None


class InboundPipeline:
    # Messages translated ahead of a batch's transaction: enough for a short batch, not so
    # many that a batch cut short by a waiting ACK wastes much work (the rest is kept).
    PREPARE_AHEAD = 64
    CHECKPOINT_SECONDS = 0.1

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        bus: MessageBus,
        local_tz: ZoneInfo,
        clock: Callable[[], datetime] = utcnow,
        senders: SenderDirectory | None = None,
        spool: Spool | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.spool = spool
        self.bus = bus
        self.local_tz = local_tz
        self.clock = clock
        self.senders = senders or SenderDirectory()
        self.writer = JournalWriter(uow_factory, spool=spool)
        self._translated: dict[int, tuple[Job, Any, bytes, str] | Rejection] = {}
        self.writer.after_commit = self._hand_to_applier
        # SQLite: the applier gives way to arriving messages. Without a spool they wait for its
        # write lock; with one they no longer do, but still share the process's one GIL and
        # the machine's cores with it, and ACKs come first.
        yield_to_writer = self.writer.wait_quiet if uow_factory.single_writer else None
        self.applier = Applier(
            self.apply_batch,
            before_each=yield_to_writer,
            budget=self.writer.apply_budget,
            after_each=self._checkpoint if uow_factory.single_writer else None,
        )
        self._last_checkpoint = 0.0

    def _checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database from the applier's thread, after
        its commit and without the writer lock (journal commits never checkpoint, so an ACK
        never waits for one); at most every ``CHECKPOINT_SECONDS``."""
        now = time.monotonic()
        if now - self._last_checkpoint >= self.CHECKPOINT_SECONDS:
            self._last_checkpoint = now
            self.uow_factory.checkpoint()
            if self.spool is not None:
                self.spool.checkpoint()

    def receive(self, raw: bytes, peer: str = "") -> bytes:
        """One frame in, its answer out: an ACK, or a batch ACK for an FHS/BHS batch."""
        if is_batch(raw):
            return receive_batch(self, raw, peer, self.clock).ack
        return self.process(raw, peer).ack

    def reject(self, raw: bytes, peer: str, error: AckError) -> Outcome:
        """AR without applying (a batch that failed its count check); journalled as rejected
        so it is visible, without its control id so the corrected resend is accepted."""
        try:
            header: Header | None = read_header(raw)
        except MalformedHeader:
            header = None
        return self._reject_before_apply(raw, peer, self.clock(), header, error)

    def stop(self) -> None:
        self.writer.stop()
        self.applier.stop()
        if self.spool is not None:
            self.spool.dispose()

    def process(self, raw: bytes, peer: str = "") -> Outcome:
        now = self.clock()
        try:
            header = read_header(raw)
        except MalformedHeader as exc:
            error = AckError("100", str(exc), location="MSH")
            return self._reject_before_apply(raw, peer, now, None, error)

        policy = self.senders.policy_for(header)
        if policy.charset:
            header = dataclasses.replace(header, charset=policy.charset)
        if not policy.allows(peer):
            error = AckError("207", f"sender {header.sender} is not accepted from {peer}")
            return self._reject_before_apply(raw, peer, now, header, error)
        if not policy.secure_enough(peer):
            error = AckError("207", f"sender {header.sender} must connect over TLS")
            return self._reject_before_apply(raw, peer, now, header, error)
        try:
            codec = codec_for(header.charset) or "utf-8"
        except UnsupportedCharset as exc:
            return self._reject_before_apply(
                raw, peer, now, header, AckError("102", str(exc), "E", "MSH^1^18")
            )

        if policy.strict:
            invalid = self._invalid_v251(raw, header)
            if invalid is not None:
                return self._reject_before_apply(raw, peer, now, header, invalid)

        ack: bytes | None = None
        if policy.accept_then_apply:
            ack = encode(build_ack(header, _accept_code(header), now), codec)
        values = row(
            sender=header.sender,
            control_id=header.control_id or None,
            message_type=header.message_type,
            trigger_event=header.trigger_event,
            version=header.version,
            peer=peer,
            received_at=now,
            raw=raw,
            charset=header.charset,
            ack_code=_accept_code(header) if ack else None,
            ack=ack,
        )
        values["_header"] = header
        values["_policy"] = policy
        stored = self.writer.write(values)
        return self._answer(stored, values, raw, header, ack)

    @staticmethod
    def _invalid_v251(raw: bytes, header: Header) -> AckError | None:
        """hl7apy validation, only for strict senders (it costs tens of ms a message)."""
        from integration.validation import Invalid, validate_v251

        try:
            text, _ = decode(raw, header.charset)
            validate_v251(text)
        except UndecodableMessage as exc:
            return AckError("102", str(exc), "E", "MSH^1^18")
        except Invalid as exc:
            return AckError(exc.code, exc.message)
        return None

    def _answer(
        self,
        stored: Stored,
        values: dict[str, Any],
        raw: bytes,
        header: Header,
        ack: bytes | None,
    ) -> Outcome:
        if stored.is_new:
            if ack is not None:
                return Outcome(ack, _accept_code(header), stored.entry_id)
            # sync: the writer handed the entry to the applier after its commit; wait for it
            return values["_future"].result()
        # A resend of something we already journalled.
        if stored.state in (journal.APPLIED, journal.REJECTED) and stored.ack:
            return Outcome(stored.ack, stored.ack_code or "AA", stored.entry_id)
        acked = _accepted_before_apply(stored.state, stored.ack_code)
        future = self.applier.enqueue(self._job(stored, raw, header, acked))
        if acked:
            # Accepted earlier (async): the answer is the same; the resend also retries a
            # failed apply, as a resend of a sync message would.
            return Outcome(stored.ack or b"", stored.ack_code or "AA", stored.entry_id)
        return future.result()

    @staticmethod
    def _job(stored: Stored, raw: bytes, header: Header, acked: bool) -> Job:
        return Job(stored.entry_id, raw, header, stored.received_at, acked)

    def _hand_to_applier(self, committed: list[tuple[dict[str, Any], Stored]]) -> None:
        """Runs in the committing thread right after each commit, so the applier's queue follows
        journal order exactly."""
        for values, stored in committed:
            if stored.is_new and stored.state == journal.RECEIVED and "_header" in values:
                job = self._job(stored, values["raw"], values["_header"], values["ack"] is not None)
                values["_future"] = self.applier.enqueue(job)

    def apply(
        self,
        entry_id: int,
        raw: bytes,
        header: Header,
        received_at: datetime,
        *,
        acked: bool = False,
    ) -> Outcome:
        """Translate and apply one journal entry; exactly once whoever calls it how often."""
        return self.apply_batch([Job(entry_id, raw, header, received_at, acked)])[0]

    def apply_batch(self, jobs: list[Job], budget_seconds: float | None = None) -> list[Outcome]:
        """Apply journal entries in order, in one transaction with a savepoint each.

        Returns outcomes for a prefix of ``jobs`` (all of them without a budget); the caller
        keeps the rest for its next batch. Messages are parsed and translated before the
        transaction starts (pure CPU work that need not hold SQLite's one write lock); on
        SQLite the batch also ends at the next message boundary once a received message is
        waiting for its journal commit (without a spool an ACK then waits for at most one
        message's apply; with one, the ACK's thread gets the CPU sooner). Rejections are
        recorded after the batch commits (in their own transaction).
        """
        ready = self._prepare_ahead(jobs)
        yield_to_journal = self.uow_factory.single_writer
        prepared: list[tuple[Job, Any, bytes, str] | Rejection] = []
        # Entries this batch may mark applied (read and locked first in its transaction), and
        # for each command handed to the bus the claim to make if it succeeds: all of them in
        # one statement at the end (``finish``), not one UPDATE per message.
        claimable: set[int] = set()
        claims: list[tuple[int, str, bytes | None] | None] = []

        def commands() -> Iterator[tuple[Any, Callable[[Any], None] | None]]:
            for job in jobs:
                if yield_to_journal and prepared and self.writer.waiting():
                    return  # commit what is done; the rest waits for the next batch
                p = ready.pop(job.entry_id, None)
                if p is None or _job_of(p) is not job:
                    p = self._prepare(job)
                prepared.append(p)
                if isinstance(p, Rejection):
                    continue
                if job.entry_id in claimable:
                    claims.append((job.entry_id, "AA", None if job.acked else p[2]))
                    yield p[1], None
                else:  # applied meanwhile (a resend raced its first copy): rolled back
                    claims.append(None)
                    yield p[1], _refuse(job.entry_id)

        moved: list[int] = []
        ids = [j.entry_id for j in jobs]

        def begin(session: Any) -> None:
            conn = session.connection()
            if self.spool is not None:
                moved.extend(self._move_from_spool(conn, ids))
            claimable.update(journal.claimable(conn, ids))

        def finish(session: Any, results: list[tuple[Any, BaseException | None]]) -> None:
            done = [c for c, (_, exc) in zip(claims, results, strict=True) if c and exc is None]
            changed = journal.claim_applied_many(session.connection(), done, self.clock())
            if changed >= 0 and changed != len(done):  # cannot happen: the rows are locked
                raise RuntimeError(f"claimed {changed} of {len(done)} journal entries")

        try:
            results = iter(self.bus.handle_batch(commands(), budget_seconds, begin, finish))
        finally:
            # What the batch did not reach stays translated for the applier's next batch.
            self._translated = ready
        if self.spool is not None:
            self.spool.forget(moved)
        outcomes: list[Outcome] = []
        for p in prepared:
            if isinstance(p, Rejection):
                outcomes.append(
                    self._fail(p.job.entry_id, p.job.header, "AR", p.error, acked=p.job.acked)
                )
                continue
            result = next(results, None)
            if result is None:
                break  # translated, but the budget ran out first: it waits for the next batch
            outcomes.append(self._settle(p[0], p[2], p[3], result[1]))
        return outcomes

    def _move_from_spool(self, conn: Connection, ids: list[int]) -> list[int]:
        """Copy spooled entries among ``ids`` into the journal (same ids), in the caller's
        transaction; returns the ids the spool may now forget (copied, or already there).

        The applier calls this first in the transaction that applies them, so an entry is in the
        journal before anything claims it, and a failure later in the batch still finds it."""
        if self.spool is None or not ids:
            return []
        table = InboundMessage.__table__
        there = set(conn.execute(select(table.c.id).where(table.c.id.in_(ids))).scalars())
        rows = self.spool.rows([i for i in ids if i not in there])
        if rows:
            conn.execute(insert(table), rows)
        return sorted(there | {r["id"] for r in rows})

    def move_to_journal(self, ids: list[int]) -> None:
        """Move spooled entries into the journal in a transaction of their own (an entry no
        apply will move: rejected on receipt, or left behind by a crash)."""
        if self.spool is None or not ids:
            return
        with self.uow_factory.write_connection() as conn:
            moved = self._move_from_spool(conn, ids)
        self.spool.forget(moved)

    def _prepare_ahead(self, jobs: list[Job]) -> dict[int, tuple[Job, Any, bytes, str] | Rejection]:
        """Translations of ``jobs`` by entry id, reusing those a cut-short batch left over."""
        left, self._translated = self._translated, {}
        ready = {}
        for job in jobs[: self.PREPARE_AHEAD]:
            p = left.get(job.entry_id)
            ready[job.entry_id] = p if p is not None and _job_of(p) is job else self._prepare(job)
        return ready

    def _prepare(self, job: Job) -> tuple[Job, Any, bytes, str] | Rejection:
        """(job, command, ACK, codec), or the rejection when the message cannot become one."""
        header = job.header
        try:
            if not header.control_id:
                raise TranslationError("MSH-10 message control id is missing", "MSH^1^10")
            translator = route(header)
            text, codec = decode(job.raw, header.charset)
            msg = MessageReader(text)
            command = translator(msg, header, self.local_tz, job.received_at, f"hl7:{job.entry_id}")
        except (UnsupportedCharset, UndecodableMessage) as exc:
            return Rejection(job, AckError("102", str(exc), "E", "MSH^1^18"))
        except Unroutable as exc:
            return Rejection(job, AckError(exc.code, exc.message, "E", "MSH^1^9"))
        except UnparseableMessage as exc:
            return Rejection(job, AckError("100", str(exc)))
        except TranslationError as exc:
            return Rejection(job, AckError(exc.code, exc.message, "E", exc.location))
        ack = encode(build_ack(header, "AA", self.clock()), codec)
        return job, command, ack, codec

    def _settle(self, job: Job, ack: bytes, codec: str, exc: BaseException | None) -> Outcome:
        entry_id, header, acked = job.entry_id, job.header, job.acked
        if exc is None:
            return Outcome(ack, "AA", entry_id)
        if isinstance(exc, AlreadyApplied):
            return self._stored_outcome(entry_id) or Outcome(ack, "AA", entry_id)
        if isinstance(exc, RecordError):
            error = AckError(exc.hl7_code, exc.message)
            return self._fail(entry_id, header, "AE", error, codec, acked=acked)
        log.error("applying journal entry %s failed", entry_id, exc_info=exc)
        message = (
            f"internal error applying the message; it is kept in the error queue "
            f"(journal entry {entry_id}) for replay"
        )
        return self._fail(entry_id, header, "AE", AckError("207", message), codec, acked=acked)

    def recover(self) -> int:
        """Apply every message journalled but not applied (the process stopped in between).

        Goes through the applier, so recovered entries keep journal order with new ones and
        share the exactly-once claim. Spooled entries the journal already holds (the process
        stopped between the two files) are only forgotten, never applied again.
        """
        spooled = self.spool.pending() if self.spool is not None else []
        with self.uow_factory() as uow:
            rows = uow.session.execute(
                select(
                    InboundMessage.id,
                    InboundMessage.raw,
                    InboundMessage.received_at,
                    InboundMessage.ack_code,
                )
                .where(InboundMessage.state == journal.RECEIVED)
                .order_by(InboundMessage.id)
            ).all()
            journalled = set(
                uow.session.scalars(
                    select(InboundMessage.id).where(
                        InboundMessage.id.in_([r["id"] for r in spooled])
                    )
                )
            )
        self.move_to_journal(  # a rejection on receipt never reaches the applier
            [r["id"] for r in spooled if r["id"] in journalled or r["state"] != journal.RECEIVED]
        )
        left = [r for r in spooled if r["id"] not in journalled and r["state"] == journal.RECEIVED]
        rows = [*rows, *((r["id"], r["raw"], r["received_at"], r["ack_code"]) for r in left)]
        futures = []
        for entry_id, raw, received_at, ack_code in rows:
            try:
                header = read_header(raw)
            except MalformedHeader:
                continue
            header = self._with_policy_charset(header)
            job = Job(entry_id, raw, header, received_at, ack_code in ACCEPT_CODES)
            futures.append(self.applier.enqueue(job))
        for future in futures:
            future.result()
        if rows:
            log.info("recovered %d journalled message(s) that had not been applied", len(rows))
        return len(rows)

    def replay(self, entry_ids: list[int]) -> list[Outcome]:
        """Apply failed or rejected journal entries again, after a person fixed the cause.

        Bypasses the duplicate check by design (it works on the journal entry itself, not a
        resend); an entry already applied is not applied again (the claim refuses it) and
        answers with what it has. Unknown ids raise ``KeyError``.
        """
        with self.uow_factory() as uow:
            found = uow.session.execute(
                select(
                    InboundMessage.id,
                    InboundMessage.raw,
                    InboundMessage.received_at,
                    InboundMessage.state,
                ).where(InboundMessage.id.in_(entry_ids))
            )
            rows = {entry_id: (raw, at, state) for entry_id, raw, at, state in found}
        missing = [i for i in entry_ids if i not in rows]
        if missing:
            raise KeyError(", ".join(str(i) for i in missing))
        outcomes = []
        for entry_id in sorted(entry_ids):  # journal order
            raw, received_at, state = rows[entry_id]
            try:
                header = self._with_policy_charset(read_header(raw))
            except MalformedHeader as exc:
                outcomes.append(self._outcome_unreadable(entry_id, str(exc)))
                continue
            if state == journal.APPLIED:  # nothing to do; never applied twice
                ack = encode(build_ack(header, "AA", self.clock()), "utf-8")
                outcomes.append(Outcome(ack, "AA", entry_id))
                continue
            job = Job(entry_id, raw, header, received_at, acked=True)
            outcomes.append(self.applier.enqueue(job).result())
        return outcomes

    def _outcome_unreadable(self, entry_id: int, why: str) -> Outcome:
        ack = encode(build_ack(None, "AR", self.clock(), AckError("100", why)), "utf-8")
        return Outcome(ack, "AR", entry_id)

    def _with_policy_charset(self, header: Header) -> Header:
        policy = self.senders.policy_for(header)
        return dataclasses.replace(header, charset=policy.charset) if policy.charset else header

    # --- recording failures ------------------------------------------------------------

    def _fail(
        self,
        entry_id: int,
        header: Header,
        code: str,
        error: AckError,
        codec: str = "utf-8",
        *,
        acked: bool = False,
    ) -> Outcome:
        ack = encode(build_ack(header, code, self.clock(), error), codec)
        state = journal.REJECTED if code == "AR" else journal.FAILED
        values: dict[str, Any] = {
            "state": state,
            "error_code": error.code,
            "error": error.message,
            "attempts": InboundMessage.attempts + 1,
        }
        if not acked:  # the ACK column keeps what the sender was actually told
            values.update(ack_code=code, ack=ack)
        with self.uow_factory() as uow:
            result = uow.session.execute(
                update(InboundMessage)
                .where(InboundMessage.id == entry_id)
                .where(InboundMessage.state != journal.APPLIED)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            uow.commit()
        if result.rowcount == 0:  # applied meanwhile (a resend raced its first copy)
            return self._stored_outcome(entry_id) or Outcome(ack, code, entry_id)
        log.info("journal entry %s: %s %s %s", entry_id, code, error.code, error.message)
        return Outcome(ack, code, entry_id)

    def _stored_outcome(self, entry_id: int) -> Outcome | None:
        with self.uow_factory() as uow:
            entry = uow.session.get(InboundMessage, entry_id)
            if entry is None or entry.ack is None:
                return None
            return Outcome(entry.ack, entry.ack_code or "AA", entry_id)

    def _reject_before_apply(
        self, raw: bytes, peer: str, now: datetime, header: Header | None, error: AckError
    ) -> Outcome:
        """AR for a message we will not apply at all; still journalled, so it is visible."""
        ack = encode(build_ack(header, "AR", now, error), "utf-8")
        values = row(
            peer=peer,
            received_at=now,
            raw=raw,
            state=journal.REJECTED,
            error_code=error.code,
            error=error.message,
            ack_code="AR",
            ack=ack,
            attempts=1,
        )
        if header is not None:
            # Kept without its control id: a rejection must not block the corrected resend.
            values.update(
                sender=header.sender,
                message_type=header.message_type,
                trigger_event=header.trigger_event,
                version=header.version,
                charset=header.charset,
            )
        stored = self.writer.write(values)
        if stored.is_new:
            self.move_to_journal([stored.entry_id])  # into the journal now: no apply will move it
        return Outcome(ack, "AR", stored.entry_id)


ACCEPT_CODES = ("AA", "CA")


def _refuse(entry_id: int) -> Callable[[Any], None]:
    """The claim for an entry that is no longer claimable: its savepoint is rolled back."""

    def refuse(_session: Any) -> None:
        raise AlreadyApplied(entry_id)

    return refuse


def _job_of(prepared: tuple[Job, Any, bytes, str] | Rejection) -> Job:
    return prepared.job if isinstance(prepared, Rejection) else prepared[0]


def _accepted_before_apply(state: str, ack_code: str | None) -> bool:
    """An entry whose sender was told AA/CA before it was applied (async) keeps that ACK."""
    return state != journal.APPLIED and ack_code in ACCEPT_CODES


def _accept_code(header: Header) -> str:
    """AA in original mode; CA (commit accept) when the sender asked for enhanced mode."""
    return "CA" if header.accept_ack_type or header.application_ack_type else "AA"
