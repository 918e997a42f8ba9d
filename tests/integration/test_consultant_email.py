"""The 07:00 consultant emails, received by a real SMTP server (aiosmtpd), parsed and checked
against the hand-built fixture hospital (tests/reports_fixture.py)."""

from __future__ import annotations

import email
import email.policy
import socket
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests.reports_fixture import FIVE, ONE, SENT_ON, ZERO, build_hospital, drop_vte_table, z
from whiteboard.board.snapshot import build_snapshot
from whiteboard.models import (
    Clinician,
    EmailDelivery,
    Observation,
    Referral,
    Stay,
    StayPlan,
    Ward,
)
from whiteboard.reports.consultant_email import send_consultant_emails


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse_next = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_next:
            self.refuse_next -= 1
            return "451 try again later"
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> EmailMessage:
        (found,) = [m for m in self.messages if m["To"] == address]
        return found


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


def _services_with_smtp(services, port):
    services.settings = services.settings.replace(
        smtp_host="127.0.0.1", smtp_port=port, public_url="https://wardboard.test"
    )
    return services


@pytest.fixture
def vte_hospital(services):
    with services.uow_factory() as uow:
        ids = build_hospital(uow.session, with_vte_table=True)
        uow.commit()
    yield services, ids
    with services.uow_factory() as uow:
        drop_vte_table(uow.session)
        uow.commit()


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


def test_each_consultant_gets_the_numbers_of_the_fixture_hospital(vte_hospital, smtp):
    services, ids = vte_hospital
    inbox, port = smtp
    summary = send_consultant_emails(
        _services_with_smtp(services, port), None, dry_run=False, sent_on=SENT_ON
    )
    assert (summary.sent, summary.failed) == (3, 0)  # Dr Quiet has no address
    assert len(inbox.messages) == 3

    okafor = inbox.to("adaeze.okafor@test.example")
    text, html = _parts(okafor)
    # Yesterday = Sunday 25 October, 25 hours: P1 (00:30 BST), P4, P8 on AMU; P2 (23:30 GMT)
    # on W4. P3 (00:30 on the 26th), the cancelled stay and A&E attendances are not counted.
    assert "ADMITTED YESTERDAY UNDER YOU: 4" in text
    assert "  AMU: 3" in text and "  W4: 1" in text
    for label in ("P1", "P2", "P4", "P8"):
        assert f"TEST{label}" in text
    assert "TESTP3" not in text.split("VTE RISK")[0]
    # VTE: P4 is 12 (not counted). P1 assessed at exactly 14 h (in time); P8 at 14 h 1 s
    # (late); P2 is not due until 13:30 today.
    assert "Counted: 3. Assessed in time: 1. Not assessed within 14 h: 1. Not yet due: 1." in text
    vte_section = text.split("VTE RISK")[1].split("CURRENT INPATIENTS")[0]
    assert "TESTP8" in vte_section and "TESTP1" not in vte_section
    assert f"https://wardboard.test/wards/AMU#stay-{ids['P8']}" in vte_section
    # Open alerts: the board's, at 07:00 GMT, for all six current inpatients (P1, P2, P3, P4,
    # P6, P8). P6: VTE overdue (never assessed), last set 17:00Z score 0 due 05:00Z (overdue),
    # EDD today not reviewed, stranded 15 days. P4 (aged 12: 4-hourly) set 12:00Z: overdue.
    # P3 (00:30Z, 6.5 h in): no obs yet, VTE due by 14:30Z, no EDD alert before 14 h.
    assert "CURRENT INPATIENTS WITH OPEN ALERTS: 6" in text
    alert_section = text.split("CURRENT INPATIENTS")[1].split("ESTIMATED")[0]
    assert "TESTP6, Pat P6 (AMU): VTE overdue; Obs overdue; EDD review; Stranded 15d" in (
        alert_section
    )
    assert "TESTP4, Pat P4 (AMU): Obs overdue; No EDD" in alert_section
    assert "TESTP3, Pat P3 (AMU): No obs; VTE due" in alert_section
    assert "LONG STAYS (7+ DAYS): 1" in text and "TESTP6, Pat P6 (AMU, 15 days)" in text
    # EDDs today (Monday 26th): P6 at 11:00, then P1 with no time given. P2's EDD is
    # tomorrow; TWICE has today's EDD but was discharged; P7's is Brown's.
    edd_section = text.split("ESTIMATED DISCHARGES TODAY")[1].split("LONG STAYS")[0]
    assert edd_section.startswith(": 2\r\n")  # SMTP line endings
    edd_lines = [ln.strip() for ln in edd_section.splitlines() if ln.strip().startswith("- ")]
    assert edd_lines == [
        f"- TESTP6, Pat P6 (AMU, expected 11:00) https://wardboard.test/wards/AMU#stay-{ids['P6']}",
        f"- TESTP1, Pat P1 (AMU, time not given) https://wardboard.test/wards/AMU#stay-{ids['P1']}",
    ]
    assert 'id="edd-count">2<' in html
    html_edds = html.split('id="edds-today"')[1].split("</ul>")[0]
    assert html_edds.index("TESTP6") < html_edds.index("TESTP1")
    assert "expected 11:00" in html_edds and "time not given" in html_edds
    assert "TESTP2" not in html_edds and "TESTTWICE" not in html_edds
    assert okafor["Subject"].strip() == (
        "Wardboard Sun 25 Oct: 4 admitted, 1 VTE late, 2 EDD today, 1 long stay"
    )
    assert 'id="vte-not-met">1<' in html and 'id="admitted-count">4<' in html

    brown_text, _ = _parts(inbox.to("b.brown@test.example"))
    # P5 (08:00Z, due 22:00Z) and SHORT (10:00Z, discharged unassessed): both late.
    assert "ADMITTED YESTERDAY UNDER YOU: 2" in brown_text
    assert "Counted: 2. Assessed in time: 0. Not assessed within 14 h: 2. Not yet due: 0." in (
        brown_text
    )
    assert "TESTP7, Pat P7 (W4, 24 days)" in brown_text
    assert "ESTIMATED DISCHARGES TODAY: 1" in brown_text
    assert "TESTP7, Pat P7 (W4, expected 09:30)" in brown_text

    chen_text, chen_html = _parts(inbox.to("w.chen@test.example"))
    assert "Nothing to report" in chen_text and 'id="nothing"' in chen_html
    assert "ESTIMATED DISCHARGES TODAY" not in chen_text  # the short email stays short
    assert len(chen_text) < 450

    with services.read_session() as s:
        log = s.scalars(select(EmailDelivery).order_by(EmailDelivery.recipient)).all()
    assert [(d.recipient, d.status, str(d.report_date)) for d in log] == [
        ("adaeze.okafor@test.example", "sent", "2026-10-25"),
        ("b.brown@test.example", "sent", "2026-10-25"),
        ("w.chen@test.example", "sent", "2026-10-25"),
    ]

    # A second run (a made-up 07:00, or a second scheduler) sends nothing twice.
    again = send_consultant_emails(services, None, dry_run=False, sent_on=SENT_ON)
    assert (again.sent, again.skipped_already_sent) == (0, 3)
    assert len(inbox.messages) == 3


def test_a_refusing_relay_is_retried_and_logged(services, smtp, monkeypatch):
    inbox, port = smtp
    with services.uow_factory() as uow:
        build_hospital(uow.session, with_vte_table=False)
        uow.commit()
    inbox.refuse_next = 1  # the first DATA gets 451; the sender reconnects and retries
    from whiteboard.reports import smtp_delivery

    monkeypatch.setattr(smtp_delivery.time, "sleep", lambda _s: None)
    summary = send_consultant_emails(
        _services_with_smtp(services, port), None, False, sent_on=SENT_ON
    )
    assert (summary.sent, summary.failed) == (3, 0)
    with services.read_session() as s:
        attempts = sorted(s.scalars(select(EmailDelivery.attempts)))
    assert attempts == [1, 1, 2]


def test_cli_dry_run_lists_emails_and_sends_nothing(services, smtp, runner, monkeypatch):
    from config.cli import cli

    inbox, port = smtp
    with services.uow_factory() as uow:
        build_hospital(uow.session, with_vte_table=False)
        uow.commit()
    monkeypatch.setenv("WARDBOARD_DATABASE_URL", services.settings.database_url)
    monkeypatch.setenv("WARDBOARD_SMTP_PORT", str(port))
    result = runner.invoke(cli, ["email", "consultants", "--date", "2026-10-25", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "adaeze.okafor@test.example: Wardboard Sun 25 Oct: 4 admitted" in result.output
    assert "dry run: 3 emails built, none sent" in result.output
    assert inbox.messages == []
    result = runner.invoke(cli, ["email", "consultants", "--date", "2026-10-25"])
    assert result.exit_code == 0, result.output
    assert "3 sent, 0 failed" in result.output
    assert len(inbox.messages) == 3


def test_cli_bad_date_is_a_clear_error(runner):
    from config.cli import cli

    result = runner.invoke(cli, ["email", "consultants", "--date", "25/10/2026"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_an_unreachable_relay_stops_the_batch_and_a_later_run_sends_the_rest(
    services, smtp, monkeypatch
):
    from whiteboard.reports import smtp_delivery

    monkeypatch.setattr(smtp_delivery.time, "sleep", lambda _s: None)
    inbox, port = smtp
    with services.uow_factory() as uow:
        build_hospital(uow.session, with_vte_table=False)
        uow.commit()
    closed = _free_port()  # nothing listens here
    down = send_consultant_emails(
        _services_with_smtp(services, closed), None, False, sent_on=SENT_ON
    )
    assert (down.sent, down.failed) == (0, 3)
    with services.read_session() as s:
        attempts = sorted(s.scalars(select(EmailDelivery.attempts)))
    assert attempts == [0, 0, 3]  # only the first email tried the relay (3 times)
    # The relay is back for the next scheduled run: everything unsent goes, once.
    up = send_consultant_emails(_services_with_smtp(services, port), None, False, sent_on=SENT_ON)
    assert (up.sent, up.failed, up.skipped_already_sent) == (3, 0, 0)
    assert len(inbox.messages) == 3


def _alert_ward(session) -> dict[str, int]:
    """Dr Green's five inpatients on W4, each with one kind of open alert at 07:00 GMT on
    Monday 26 October 2026 (the email's "now"), and one with none. Worked out by hand:

    OBS     set 01:00Z score 1 (4-hourly) -> due 05:00Z: "Obs overdue" (the NEWS2 1 badge is
            information, not an open alert)
    NEWS    set 06:50Z score 5 (hourly) -> due 07:50Z, not due soon until 07:35Z: the
            "NEWS2 5" badge (medium risk, red) only
    EDDPAST EDD Sunday 25th, yesterday: "EDD past"
    REFER   EDD Tuesday 27th 09:00 GMT, needs physiotherapy (no referral yet) and district
            nursing (sent, not picked up): tasks open 48 h before (09:00Z 25th), due 24 h before
            (09:00Z 26th): "District nurse referral sent", "Physio referral due"
    VTE     admitted 20:00Z 25th (11 h ago), not assessed: due 10:00Z: "VTE due"; no EDD alert
            before 14 h
    QUIET   everything in order: not listed
    Everyone else has a current EDD (reviewed 06:00Z, with a time), a VTE assessment and a set
    at 06:00Z scoring 0 (12-hourly).
    """
    ward = session.scalars(select(Ward).where(Ward.code == "W4")).one()
    green = Clinician(
        code="C7000009", family_name="Green", given_names="Gwen", email="g.green@test.example"
    )
    session.add(green)
    session.flush()
    from mpi.models import Patient

    ids: dict[str, int] = {}
    for label, admitted in (
        ("OBS", "2026-10-20T09:00"),
        ("NEWS", "2026-10-21T09:00"),
        ("EDDPAST", "2026-10-22T09:00"),
        ("REFER", "2026-10-23T09:00"),
        ("VTE", "2026-10-25T20:00"),
        ("QUIET", "2026-10-24T09:00"),
    ):
        patient = Patient(
            family_name=f"Alert{label}", given_names="Pat", date_of_birth=date(1950, 1, 1)
        )
        stay = Stay(
            patient=patient,
            patient_class="I",
            state="active",
            ward=ward,
            clinician=green,
            admitted_at=z(admitted),
        )
        session.add(stay)
        session.flush()
        ids[label] = stay.id
        plan = StayPlan(
            stay_id=stay.id,
            edd=date(2026, 10, 28),
            edd_time=time(10, 0),
            edd_reviewed_at=z("2026-10-26T06:00"),
        )
        if label != "VTE":
            plan.vte_assessed_at = z(admitted) + timedelta(hours=1)
        if label == "EDDPAST":
            plan.edd = date(2026, 10, 25)
        if label == "REFER":
            plan.edd, plan.edd_time = date(2026, 10, 27), time(9, 0)
            plan.post_discharge_needs = "physiotherapy,district_nursing"
            session.add(
                Referral(
                    stay_id=stay.id,
                    need="district_nursing",
                    sent_at=z("2026-10-25T12:00"),
                    sent_by="C7000009",
                )
            )
        values, taken = {"OBS": (ONE, "2026-10-26T01:00"), "NEWS": (FIVE, "2026-10-26T06:50")}.get(
            label, (ZERO, "2026-10-26T06:00")
        )
        total = {"OBS": 1, "NEWS": 5}.get(label, 0)
        obs = Observation(
            stay_id=stay.id,
            taken_at=z(taken),
            recorded_by="N0000001",
            news2_total=total,
            news2_band={0: "low", 1: "low", 5: "medium"}[total],
            **values,
        )
        session.add(obs)
        session.add(plan)
        session.flush()
        plan.latest_observation_id = obs.id
    session.flush()
    return ids


def test_open_alerts_are_the_boards_own(services, smtp):
    """Observation, NEWS2, EDD, referral and VTE alerts reach the email, named as the board
    names them, and the email lists exactly what the board shows at the same moment."""
    inbox, port = smtp
    with services.uow_factory() as uow:
        ids = _alert_ward(uow.session)
        uow.commit()
    summary = send_consultant_emails(
        _services_with_smtp(services, port), None, dry_run=False, sent_on=SENT_ON
    )
    assert summary.failed == 0
    text, html = _parts(inbox.to("g.green@test.example"))
    section = text.split("CURRENT INPATIENTS WITH OPEN ALERTS: ")[1].split("ESTIMATED")[0]
    lines = [ln.strip() for ln in section.splitlines() if ln.strip().startswith("- ")]
    base = "https://wardboard.test/wards/W4#stay-"
    assert section.startswith("5")
    assert lines == [
        f"- ALERTOBS, Pat (W4): Obs overdue {base}{ids['OBS']}",
        f"- ALERTNEWS, Pat (W4): NEWS2 5 {base}{ids['NEWS']}",
        f"- ALERTEDDPAST, Pat (W4): EDD past {base}{ids['EDDPAST']}",
        # Both amber since 09:00Z on the 25th: the board orders them by need.
        f"- ALERTREFER, Pat (W4): District nurse referral sent; Physio referral due "
        f"{base}{ids['REFER']}",
        f"- ALERTVTE, Pat (W4): VTE due {base}{ids['VTE']}",
    ]
    assert "ALERTQUIET" not in text
    assert 'id="alerts-count">5<' in html
    assert "District nurse referral sent; Physio referral due" in html

    # The board at the same moment shows the same alerts (less its information badges).
    settings = services.settings
    now = datetime(2026, 10, 26, 7, 0, tzinfo=UTC)
    with services.read_session() as s:
        board = build_snapshot(s, "W4", now, settings.timezone, settings.clinical)
    shown = {
        p["key"]: [a["label"] for a in p["alerts"] if a["level"] != "info"]
        for p in board["patients"]
    }
    for label, stay_id in ids.items():
        labels = shown[f"s-{stay_id}"]
        line = next((ln for ln in lines if ln.endswith(f"#stay-{stay_id}")), None)
        if not labels:
            assert line is None
        else:
            assert line is not None and f": {'; '.join(labels)} " in line, (label, labels, line)
