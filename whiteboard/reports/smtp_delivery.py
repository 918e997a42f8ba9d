"""Handing email to the hospital's SMTP relay, with retries.

One connection is reused for a whole batch (a 1,000-bed hospital has a few hundred
consultants); a failed send reconnects and retries with a growing pause, so a relay that
restarts at 07:00 does not cost anyone their email. TLS (STARTTLS) and login are optional
settings (``WARDBOARD_SMTP_*``).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage

from config.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendOutcome:
    ok: bool
    attempts: int
    error: str = ""
    relay_down: bool = False  # the relay could not be reached at all: stop the batch


@dataclass
class SmtpSender:
    host: str
    port: int
    username: str = ""
    password: str = ""
    starttls: bool = False
    attempts: int = 3
    pause_seconds: float = 2.0
    timeout: float = 30.0
    _smtp: smtplib.SMTP | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSender:
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_username,
            settings.smtp_password,
            settings.smtp_starttls,
        )

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password)
            self._smtp = smtp
        return self._smtp

    def send(self, message: EmailMessage) -> SendOutcome:
        error = ""
        unreachable = False
        for attempt in range(1, self.attempts + 1):
            try:
                self._connect().send_message(message)
                return SendOutcome(True, attempt)
            except smtplib.SMTPRecipientsRefused as exc:
                # The relay will not take this address: retrying will not change its mind.
                return SendOutcome(False, attempt, f"recipient refused: {exc.recipients}")
            except (smtplib.SMTPException, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                unreachable = self._smtp is None  # failed before a connection was made
                log.warning(
                    "SMTP send to %s failed (attempt %d): %s", message["To"], attempt, error
                )
                self.close()
                if attempt < self.attempts:
                    time.sleep(self.pause_seconds * attempt)
        return SendOutcome(False, self.attempts, error, relay_down=unreachable)

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
