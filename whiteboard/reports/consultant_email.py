"""The 07:00 email to each consultant: what happened under them yesterday and what needs them
today.

Built for every consultant at once with a handful of queries (not per consultant), so a
1,000-bed hospital's emails build in seconds. Sections, and where their data comes from:

- admitted yesterday (local day, 23 or 25 h on a clock-change day), by ward: ``stay``
- VTE assessed within 14 h (admitted patients aged 16+): ``whiteboard.reports.vte`` (the
  ``vte_assessment`` table from the clinical-boards branch; "not available" until then) and
  the rule ``whiteboard.alerts.vte.vte_met_standard``
- current inpatients with open alerts: the boards' own evaluation, not a copy of it: the facts
  loaded by ``whiteboard.board.clinical_facts`` (plan, VTE, latest observation set, referrals)
  handed to ``whiteboard.alerts.evaluate.alerts_for_stay`` at 07:00, each alert named by the
  label the board shows. Information badges (``info``: a low NEWS2, "NEWS2 n/a") are not open
  alerts and are left out, as the A&E board leaves them out of its alerts.
- EDDs today: current inpatients under the consultant whose estimated discharge date (the
  ``stay_plan`` the board keeps) is the sending day, with the expected time when one was given
- long stays (7+ / 21+ days): ``whiteboard.alerts.long_stay``
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.clinical import ClinicalRules
from config.db import utcnow
from mpi.models import Patient
from whiteboard.alerts.evaluate import alerts_for_stay
from whiteboard.alerts.facts import StayFacts
from whiteboard.alerts.long_stay import length_of_stay
from whiteboard.alerts.model import Alert
from whiteboard.alerts.vte import vte_counted, vte_due_at, vte_met_standard
from whiteboard.board.clinical_facts import load_clinical_rows, stay_facts
from whiteboard.board.snapshot import age_on
from whiteboard.models import Clinician, Stay, StayPlan, Ward
from whiteboard.reports.delivery_log import OutgoingEmail, SendSummary, send_and_log
from whiteboard.reports.period import day_bounds
from whiteboard.reports.timestamps import fast_utc
from whiteboard.reports.vte import vte_assessments

if TYPE_CHECKING:
    from config.bootstrap import Services

log = logging.getLogger(__name__)

KIND = "consultant_morning"
SEND_AT = time(7, 0)


def open_alerts(stay: StayFacts, now: datetime, rules: ClinicalRules) -> list[Alert]:
    """What the board shows for the stay at ``now``, most severe first, less its info badges."""
    return [a for a in alerts_for_stay(stay, now, rules) if a.level != "info"]


@dataclass(frozen=True)
class PatientLine:
    stay_id: int
    name: str
    ward: str
    link: str
    detail: str = ""


@dataclass
class ConsultantReport:
    clinician_id: int
    name: str
    email: str | None
    report_date: date  # the day the email is about ("yesterday" as seen at 07:00 on sent_on)
    sent_on: date
    admitted_by_ward: dict[str, int] = field(default_factory=dict)
    admitted: list[PatientLine] = field(default_factory=list)
    vte_available: bool = False
    vte_counted: int = 0
    vte_met: int = 0
    vte_not_met: list[PatientLine] = field(default_factory=list)
    vte_pending: int = 0
    alerts: list[PatientLine] = field(default_factory=list)
    long_stays: list[PatientLine] = field(default_factory=list)
    edds_today: list[PatientLine] = field(default_factory=list)

    @property
    def admitted_count(self) -> int:
        return sum(self.admitted_by_ward.values())

    @property
    def nothing_to_report(self) -> bool:
        return not (self.admitted or self.alerts or self.long_stays or self.edds_today)

    @property
    def subject(self) -> str:
        day = f"{self.report_date:%a} {self.report_date.day} {self.report_date:%b}"
        if self.nothing_to_report:
            return f"Wardboard {day}: nothing to report"
        parts = [f"{self.admitted_count} admitted"]
        if self.vte_available and self.vte_not_met:
            parts.append(f"{len(self.vte_not_met)} VTE late")
        if self.edds_today:
            parts.append(f"{len(self.edds_today)} EDD today")
        if self.long_stays:
            n = len(self.long_stays)
            parts.append(f"{n} long stay{'s' if n != 1 else ''}")
        return f"Wardboard {day}: " + ", ".join(parts)


def _name(family: str, given: str) -> str:
    return f"{family.upper()}, {given}".strip(", ")


def _doctor(prefix: str | None, given: str, family: str) -> str:
    return f"{prefix or ''} {given[:1] + ' ' if given else ''}{family}".strip()


def build_consultant_reports(
    session: Session,
    sent_on: date,
    tz: ZoneInfo,
    rules: ClinicalRules,
    base_url: str,
) -> list[ConsultantReport]:
    """Reports for every consultant with an email address, as at 07:00 local on ``sent_on``."""
    report_date = sent_on - timedelta(days=1)
    now = datetime.combine(sent_on, SEND_AT, tzinfo=tz)
    start, end = day_bounds(report_date, tz)
    consultants = session.execute(
        select(
            Clinician.id,
            Clinician.prefix,
            Clinician.given_names,
            Clinician.family_name,
            Clinician.email,
        )
        .where(Clinician.email.is_not(None), Clinician.email != "")
        .order_by(Clinician.family_name, Clinician.id)
    ).all()
    reports = {
        cid: ConsultantReport(cid, _doctor(prefix, given, family), email, report_date, sent_on)
        for cid, prefix, given, family, email in consultants
    }
    if not reports:
        return []
    base = base_url.rstrip("/")
    columns = (
        Stay.id,
        Stay.clinician_id,
        fast_utc(Stay.admitted_at),
        fast_utc(Stay.discharged_at),
        Ward.code,
        Patient.family_name,
        Patient.given_names,
        Patient.date_of_birth,
    )
    admitted = session.execute(
        select(*columns)
        .join(Ward, Ward.id == Stay.ward_id)
        .join(Patient, Patient.id == Stay.patient_id)
        .where(Stay.patient_class == "I", Stay.state != "cancelled")
        .where(Stay.clinician_id.in_(reports))
        .where(Stay.admitted_at >= start, Stay.admitted_at < end)
        .order_by(Ward.code, Stay.admitted_at)
    ).all()
    current = session.execute(
        select(*columns)
        .join(Ward, Ward.id == Stay.ward_id)
        .join(Patient, Patient.id == Stay.patient_id)
        .where(Stay.patient_class == "I", Stay.state == "active")
        .where(Stay.clinician_id.in_(reports))
        .where(Stay.admitted_at < now)
        .order_by(Ward.code, Stay.admitted_at)
    ).all()
    vte = vte_assessments(session, {row[0] for row in admitted} | {row[0] for row in current})
    # The board's loader: a fixed handful of queries for every current inpatient at once.
    clinical = load_clinical_rows(session, [row[0] for row in current], responsible=False)

    def facts(row: Any) -> StayFacts:
        stay_id, _, admitted_at, discharged_at, _, _, _, dob = row
        return StayFacts(
            admitted_at=admitted_at,
            stay_id=str(stay_id),
            discharged_at=discharged_at,
            age_years=age_on(dob, admitted_at.astimezone(tz).date()),
            vte_assessed_at=vte.assessed_at.get(stay_id),
        )

    def line(row: Any, detail: str = "") -> PatientLine:
        stay_id, _, _, _, ward, family, given, _ = row
        return PatientLine(
            stay_id, _name(family, given), ward, f"{base}/wards/{ward}#stay-{stay_id}", detail
        )

    for row in admitted:
        report = reports[row[1]]
        report.admitted_by_ward[row[4]] = report.admitted_by_ward.get(row[4], 0) + 1
        stay = facts(row)
        admitted_local = row[2].astimezone(tz)
        report.admitted.append(line(row, f"admitted {admitted_local:%H:%M}"))
        if not vte.available or not vte_counted(stay, rules):
            continue
        report.vte_counted += 1
        met = vte_met_standard(stay, now, rules)
        if met is True:
            report.vte_met += 1
        elif met is False:
            due = vte_due_at(stay, rules).astimezone(tz)
            report.vte_not_met.append(line(row, f"due by {due:%a %H:%M}"))
        else:
            report.vte_pending += 1
    for report in reports.values():
        report.vte_available = vte.available
    for row in current:
        report = reports[row[1]]
        stay = facts(row)
        # As the board builds them: its loaded rows, the patient's age today.
        board_facts = stay_facts(row[0], row[2], age_on(row[7], sent_on), clinical[row[0]])
        alerts = open_alerts(board_facts, now, rules)
        if alerts:
            report.alerts.append(line(row, "; ".join(a.label for a in alerts)))
        days = length_of_stay(stay, now).days
        if days >= rules.long_stay.stranded_days:
            report.long_stays.append(line(row, f"{days} days"))
    for report in reports.values():
        report.long_stays.sort(key=lambda p: -int(p.detail.split()[0]))
    _add_edds_today(session, reports, sent_on, base)
    return list(reports.values())


def _add_edds_today(
    session: Session, reports: dict[int, ConsultantReport], today: date, base: str
) -> None:
    """Current inpatients whose EDD is ``today`` (the sending day, local), earliest time first;
    one with no expected time given comes last, saying so (the board asks for it)."""
    rows = session.execute(
        select(
            Stay.id,
            Stay.clinician_id,
            Ward.code,
            Patient.family_name,
            Patient.given_names,
            StayPlan.edd_time,
        )
        .join(StayPlan, StayPlan.stay_id == Stay.id)
        .join(Ward, Ward.id == Stay.ward_id)
        .join(Patient, Patient.id == Stay.patient_id)
        .where(Stay.patient_class == "I", Stay.state == "active")
        .where(Stay.clinician_id.in_(reports))
        .where(StayPlan.edd == today)
    ).all()
    rows.sort(key=lambda r: (r[5] is None, r[5] or time(0), r[2], r[0]))
    for stay_id, clinician_id, ward, family, given, expected in rows:
        detail = f"expected {expected:%H:%M}" if expected else "time not given"
        reports[clinician_id].edds_today.append(
            PatientLine(
                stay_id, _name(family, given), ward, f"{base}/wards/{ward}#stay-{stay_id}", detail
            )
        )


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("whiteboard", "templates/email"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_email(
    report: ConsultantReport, sender: str, hospital: str, rules: ClinicalRules
) -> EmailMessage:
    """A multipart/alternative message: plain text first, then HTML (phones show the HTML)."""
    env = _environment()
    context = {"r": report, "hospital": hospital, "rules": rules}
    message = EmailMessage()
    message["Subject"] = report.subject
    message["From"] = sender
    message["To"] = report.email or ""
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "wardboard")
    message["X-Wardboard-Report"] = f"{KIND}; {report.report_date.isoformat()}"
    message.set_content(env.get_template("consultant_morning.txt").render(context))
    message.add_alternative(
        env.get_template("consultant_morning.html").render(context), subtype="html"
    )
    return message


def send_consultant_emails(
    services: Services, report_date: date | None, dry_run: bool, *, sent_on: date | None = None
) -> SendSummary:
    """Build and send every consultant's email for ``report_date`` (default: yesterday).

    A consultant whose email for that date is already logged as sent is skipped, so a made-up
    or repeated run never sends twice.
    """
    from whiteboard.models import EmailDelivery

    settings = services.settings
    tz = ZoneInfo(settings.timezone)
    if sent_on is None:
        sent_on = report_date + timedelta(days=1) if report_date else utcnow().astimezone(tz).date()
    summary = SendSummary()
    with services.read_session() as session:
        reports = build_consultant_reports(
            session, sent_on, tz, settings.clinical, settings.public_base_url
        )
        already = set(
            session.scalars(
                select(EmailDelivery.clinician_id).where(
                    EmailDelivery.kind == KIND,
                    EmailDelivery.report_date == sent_on - timedelta(days=1),
                    EmailDelivery.status == "sent",
                )
            )
        )
    messages = [
        (r, render_email(r, settings.smtp_sender, settings.hospital_name, settings.clinical))
        for r in reports
    ]
    if dry_run:
        for report, _ in messages:
            summary.dry_run += 1
            summary.lines.append(f"{report.email}: {report.subject}")
        return summary
    outgoing = []
    for report, message in messages:
        if report.clinician_id in already:
            summary.skipped_already_sent += 1
            continue
        outgoing.append(
            OutgoingEmail(
                recipient=report.email or "",
                subject=report.subject,
                report_date=report.report_date,
                clinician_id=report.clinician_id,
                build=lambda message=message: message,
            )
        )
    # A relay that is down now: the next scheduled run (every 20 minutes until 10:00) sends
    # what is still unsent.
    send_and_log(services, KIND, outgoing, summary)
    log.info(
        "consultant emails for %s: %d sent, %d failed, %d already sent",
        sent_on - timedelta(days=1),
        summary.sent,
        summary.failed,
        summary.skipped_already_sent,
    )
    return summary
