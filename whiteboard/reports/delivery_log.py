"""Sending a run of report emails and logging each one, for every scheduled email.

The delivery log is what makes a repeated or made-up run safe (an email logged as sent is not
sent again) and what the admin page shows; one loop writes it so every email kind logs alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from typing import TYPE_CHECKING

from config.db import utcnow
from whiteboard.models import EmailDelivery
from whiteboard.reports.smtp_delivery import SendOutcome, SmtpSender

if TYPE_CHECKING:
    from config.bootstrap import Services


@dataclass
class SendSummary:
    sent: int = 0
    skipped_already_sent: int = 0
    failed: int = 0
    dry_run: int = 0
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OutgoingEmail:
    recipient: str
    subject: str
    report_date: date
    build: Callable[[], EmailMessage]
    clinician_id: int | None = None


def send_and_log(
    services: Services, kind: str, emails: Iterable[OutgoingEmail], summary: SendSummary
) -> None:
    """Send each email and log it; once the relay is unreachable the rest are logged as not
    attempted, and the next scheduled run sends what is still unsent."""
    sender = SmtpSender.from_settings(services.settings)
    relay_down: str | None = None
    try:
        for email in emails:
            message = email.build()
            if relay_down is not None:
                outcome = SendOutcome(False, 0, f"not attempted: relay unreachable ({relay_down})")
            else:
                outcome = sender.send(message)
                if outcome.relay_down:
                    relay_down = outcome.error
            with services.uow_factory() as uow:
                uow.session.add(
                    EmailDelivery(
                        kind=kind,
                        report_date=email.report_date,
                        clinician_id=email.clinician_id,
                        recipient=email.recipient,
                        subject=email.subject,
                        status="sent" if outcome.ok else "failed",
                        attempts=outcome.attempts,
                        error=outcome.error,
                        message_id=str(message["Message-ID"]),
                        sent_at=utcnow() if outcome.ok else None,
                    )
                )
                uow.commit()
            if outcome.ok:
                summary.sent += 1
            else:
                summary.failed += 1
                summary.lines.append(f"{email.recipient}: FAILED {outcome.error}")
    finally:
        sender.close()
