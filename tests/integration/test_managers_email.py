"""The managers' weekly email, received by a real SMTP server (aiosmtpd), parsed, its headline
figures checked against the hand-built fixture hospital and its charts found inline (cid:)."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from datetime import UTC, date, datetime
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests.reports_fixture import build_hospital, drop_vte_table
from whiteboard.models import EmailDelivery
from whiteboard.reports.managers_email import last_complete_week_end, send_managers_email

WEEK_END = date(2026, 10, 25)  # Sunday: the week of Monday 19 October (its Sunday has 25 h)
NOW = datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # Monday 08:00 GMT, when the job runs


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture
def managers(services, smtp):
    inbox, port = smtp
    with services.uow_factory() as uow:
        build_hospital(uow.session, with_vte_table=True)
        uow.commit()
    services.settings = services.settings.replace(
        smtp_host="127.0.0.1",
        smtp_port=port,
        public_url="https://wardboard.test",
        managers_email_recipients="ops.director@test.example, bed.manager@test.example",
    )
    yield services, inbox
    with services.uow_factory() as uow:
        drop_vte_table(uow.session)
        uow.commit()


def test_last_complete_week_ends_on_the_sunday_before():
    assert last_complete_week_end(date(2026, 10, 26)) == WEEK_END  # Monday
    assert last_complete_week_end(date(2026, 11, 1)) == WEEK_END  # the next Sunday itself


def test_managers_get_the_headline_figures_and_inline_charts(managers):
    services, inbox = managers
    summary = send_managers_email(services, None, now=NOW)
    assert (summary.sent, summary.failed) == (2, 0)
    message = next(m for m in inbox.messages if m["To"] == "bed.manager@test.example")
    assert message["Subject"].strip() == (
        "Wardboard week to Sun 25 Oct: A&E 4-hour 33.3%; VTE within 14 h 20.0%; "
        "Discharges before noon 33.3%"
    )
    text = message.get_body(("plain",)).get_content()
    html_part = message.get_body(("html",))
    html = html_part.get_content()
    # Hand-computed for Monday 19 to Sunday 25 October (tests/reports_fixture.py):
    # A&E: A1 (exactly 240 min) within; A2 (240 min 1 s) and A3 (13 h) not; A3 is a 12-hour
    # wait from arrival but exactly 720 min from its decision to admit (not a trolley wait).
    assert "A&E 4-hour: 33.3%" in text
    assert "1 of 3 attendances within 4 h (standard 95%); 1 over 12 h from arrival, " in text
    assert "0 over 12 h from decision to admit" in text
    # VTE, aged 16+ admitted that week: TWICE (23:00 BST on the 24th), P1, P2, P5, P8, SHORT
    # (P4 is 12). P1 assessed at exactly 14 h; P8 1 s late; TWICE, P5, SHORT never; P2 is not
    # due until 13:30 on Monday: 1 of 5.
    assert "VTE within 14 h: 20.0%" in text and "1 of 5 admitted aged 16+" in text
    assert "1 not yet due" in text
    # Discharges: BST (11:30 BST) before noon; NOON (12:30 BST) and SHORT (17:00 GMT) after.
    assert "Discharges before noon: 33.3%" in text and "1 of 3 inpatient discharges" in text
    # Midnight census: only TWICE, at 00:00 BST on the 25th, over 7 nights and 7 beds:
    # 1/7 = 0.14 a night = 2.0% of beds. Bed-days that week: TWICE 22:00Z 24th -> 00:00Z 26th
    # (26 h) + SHORT 6 h = 32/24 = 1.33.
    assert "Occupancy: 2.0%" in text
    assert "midnight census averaged 0.1 of 7 beds; 1.33 bed-days" in text
    # Observations (add_observations): 9 sets fell due that week, 5 on time.
    assert "Observations on time: 55.6%" in text and "5 of 9 sets due" in text
    assert 'id="headline-ae">33.3%<' in html and 'id="headline-occupancy">2.0%<' in html
    assert "https://wardboard.test/reports/ae?from=2026-08-03&to=2026-10-25" in text

    # Every chart is an inline PNG the HTML names by Content-ID, so it can be copied out.
    cids = re.findall(r'src="cid:([^"]+)"', html)
    assert len(cids) == 5
    assert html_part.get_content_type() == "text/html"
    related = [p for p in message.walk() if p.get_content_type() == "multipart/related"]
    assert len(related) == 1
    images = {
        str(p["Content-ID"]).strip().strip("<>"): p
        for p in message.walk()
        if p.get_content_maintype() == "image"
    }
    assert set(images) == set(cids)
    for part in images.values():
        assert part.get_content_type() == "image/png"
        assert part.get_content_disposition() == "inline"
        assert part.get_content()[:8] == b"\x89PNG\r\n\x1a\n"

    with services.read_session() as s:
        log = s.scalars(select(EmailDelivery).where(EmailDelivery.kind == "managers_weekly")).all()
    assert sorted((d.recipient, d.status, d.report_date) for d in log) == [
        ("bed.manager@test.example", "sent", WEEK_END),
        ("ops.director@test.example", "sent", WEEK_END),
    ]
    # The job runs every 30 minutes for two hours: nothing goes twice.
    again = send_managers_email(services, None, now=NOW)
    assert (again.sent, again.skipped_already_sent) == (0, 2)
    assert len(inbox.messages) == 2


def test_no_recipients_sends_nothing(services, smtp):
    inbox, port = smtp
    services.settings = services.settings.replace(smtp_port=port, managers_email_recipients="")
    summary = send_managers_email(services, WEEK_END, now=NOW)
    assert summary.sent == 0 and "no recipients" in summary.lines[0]
    assert inbox.messages == []


def test_cli_sends_a_given_week_and_refuses_a_day_that_is_not_sunday(
    services, smtp, runner, monkeypatch
):
    from config.cli import cli

    inbox, port = smtp
    with services.uow_factory() as uow:
        build_hospital(uow.session, with_vte_table=False)
        uow.commit()
    monkeypatch.setenv("WARDBOARD_DATABASE_URL", services.settings.database_url)
    monkeypatch.setenv("WARDBOARD_SMTP_PORT", str(port))
    monkeypatch.setenv("WARDBOARD_MANAGERS_EMAIL_RECIPIENTS", "ops@test.example")
    bad = runner.invoke(cli, ["email", "managers", "--week-ending", "2026-10-26"])
    assert bad.exit_code == 2 and "not a Sunday" in bad.output
    assert "Traceback" not in bad.output
    result = runner.invoke(cli, ["email", "managers", "--week-ending", "2026-10-25"])
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 failed" in result.output
    (message,) = inbox.messages
    assert message["To"] == "ops@test.example"
    assert message["X-Wardboard-Report"] == "managers_weekly; 2026-10-25"


def test_the_scheduler_job_sends_last_weeks_email(managers, monkeypatch):
    """What the leader's scheduler runs (config.scheduler:run_managers_email), on today's date."""
    from zoneinfo import ZoneInfo

    from config import scheduler
    from config.db import utcnow

    services, inbox = managers
    monkeypatch.setattr(scheduler, "_services", services)
    scheduler.run_managers_email()
    week_end = last_complete_week_end(utcnow().astimezone(ZoneInfo("Europe/London")).date())
    assert sorted(m["To"] for m in inbox.messages) == [
        "bed.manager@test.example",
        "ops.director@test.example",
    ]
    assert {m["X-Wardboard-Report"] for m in inbox.messages} == {
        f"managers_weekly; {week_end.isoformat()}"
    }
    scheduler.run_managers_email()  # the half-hourly retry: nothing twice
    assert len(inbox.messages) == 2
