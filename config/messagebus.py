"""The message bus: commands to exactly one handler, events to any number, after commit."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.orm import Session

from config.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

CommandHandler = Callable[[Any, UnitOfWork], Any]
EventHandler = Callable[[Any], None]


class MessageBus:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        command_handlers: dict[type, CommandHandler],
        event_handlers: dict[type, list[EventHandler]],
    ) -> None:
        self.uow_factory = uow_factory
        self.command_handlers = command_handlers
        self.event_handlers = event_handlers

    def handle(self, command: Any, *, also: Callable[[Session], None] | None = None) -> Any:
        """Run a command in one transaction, then publish its events.

        ``also`` runs inside the same transaction just before commit: the HL7 journal uses it
        to mark its message applied atomically with the change the message made.
        """
        handler = self.command_handlers.get(type(command))
        if handler is None:
            raise LookupError(f"no handler for {type(command).__name__}")
        with self.uow_factory() as uow:
            result = handler(command, uow)
            if also is not None:
                also(uow.session)
            uow.commit()
        for event in uow.collect_new_events():
            self.publish(event)
        return result

    def handle_batch(
        self,
        items: Iterable[tuple[Any, Callable[[Session], None] | None]],
        budget_seconds: float | None = None,
        begin: Callable[[Session], None] | None = None,
        finish: Callable[[Session, list[tuple[Any, BaseException | None]]], None] | None = None,
    ) -> list[tuple[Any, BaseException | None]]:
        """Run several commands in one transaction, each in its own savepoint.

        For a backlog (the HL7 applier): one commit, and one fsync, for many commands. A
        command that raises is rolled back to its savepoint alone, with its events, and its
        exception returned in its place; the others commit. With ``budget_seconds`` the batch
        stops early once that much time has passed, so the write lock is not held for long;
        the result then covers only a prefix of ``items``. ``begin`` runs first in the
        transaction, outside every savepoint (the HL7 applier moves its messages from the spool
        into the journal there). ``finish`` runs last, after every savepoint and before the
        commit, with the results so far: the HL7 applier marks the messages that succeeded
        applied there in one statement (an exception from it fails the whole batch).
        """
        started = time.perf_counter()
        results: list[tuple[Any, BaseException | None]] = []
        pending = iter(items)  # pulled one at a time: nothing is prepared past the budget
        with self.uow_factory() as uow:
            if begin is not None:
                begin(uow.session)
            while True:
                elapsed = time.perf_counter() - started
                if budget_seconds is not None and results and elapsed > budget_seconds:
                    break
                try:
                    command, also = next(pending)
                except StopIteration:
                    break
                handler = self.command_handlers.get(type(command))
                if handler is None:
                    results.append((None, LookupError(f"no handler for {type(command).__name__}")))
                    continue
                mark = uow.event_mark()
                savepoint = uow.session.begin_nested()
                try:
                    result = handler(command, uow)
                    if also is not None:
                        also(uow.session)
                    savepoint.commit()
                except Exception as exc:
                    # A flush that failed inside the savepoint leaves it deactivated but still
                    # the session's transaction: rolling it back closes it, and the batch goes on.
                    if savepoint.is_active or uow.session.get_nested_transaction() is savepoint:
                        savepoint.rollback()
                    uow.discard_events_since(mark)
                    results.append((None, exc))
                else:
                    results.append((result, None))
            if finish is not None:
                finish(uow.session, results)
            uow.commit()
        for event in uow.collect_new_events():
            self.publish(event)
        return results

    def publish(self, event: Any) -> None:
        """Deliver an event; a failing subscriber is logged, never undoes the committed change."""
        for cls in type(event).__mro__:
            for handler in self.event_handlers.get(cls, []):
                try:
                    handler(event)
                except Exception:
                    log.exception("event handler %s failed for %r", handler, event)
