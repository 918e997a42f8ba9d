"""The managers' weekly email: last week's headline figures and the trend charts, inline.

Why inline images (``cid:``) rather than links: managers paste the charts into board papers,
and an image that is part of the email can be copied from the email itself, even away from the
hospital network where the report pages cannot be reached.

Every figure comes from the same report functions the pages use (``catalogue.REPORTS``), over
the trend period (``managers_email_weeks`` whole ISO weeks ending on the Sunday of the week the
email is about); the headline is that period's last week. Recipients, day and hour are settings
(``WARDBOARD_MANAGERS_EMAIL_*``); the scheduler job runs it, and each recipient's email for a
week is logged in ``email_delivery`` (kind ``managers_weekly``), so a repeated or made-up run
sends nothing twice.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.clinical import ClinicalRules
from config.db import utcnow
from whiteboard.reports.catalogue import REPORTS
from whiteboard.reports.delivery_log import OutgoingEmail, SendSummary, send_and_log
from whiteboard.reports.period import Period, week_start

if TYPE_CHECKING:
    from config.bootstrap import Services
    from config.settings import Settings

log = logging.getLogger(__name__)

KIND = "managers_weekly"
CHARTS = ("ae", "vte", "discharges", "occupancy", "observations")


@dataclass(frozen=True)
class Headline:
    key: str  # the report it comes from
    label: str
    value: str  # as shown, e.g. "72.4%"
    detail: str  # numerator and denominator, or the standard


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    cid: str  # Content-ID without the angle brackets
    png: bytes


@dataclass
class ManagersSummary:
    week_start: date
    week_end: date
    trend: Period
    headlines: list[Headline] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)

    @property
    def subject(self) -> str:
        figures = "; ".join(f"{h.label} {h.value}" for h in self.headlines[:3])
        end = self.week_end
        return f"Wardboard week to {end:%a} {end.day} {end:%b}: {figures}"


def _pct(value: float | None) -> str:
    return "no data" if value is None else f"{value:.1f}%"


def last_complete_week_end(today: date) -> date:
    """The Sunday before ``today`` (the week the email is about has ended)."""
    return week_start(today) - timedelta(days=1)


def build_managers_summary(
    session: Session,
    week_end: date,
    tz: ZoneInfo,
    rules: ClinicalRules,
    now: datetime,
    weeks: int,
    domain: str = "wardboard",
) -> ManagersSummary:
    trend = Period.weeks_ending(week_end, weeks)
    monday = week_start(week_end)
    summary = ManagersSummary(monday, trend.end, trend)
    results: dict[str, Any] = {
        key: REPORTS[key].compute(session, trend, tz, rules, now) for key in CHARTS
    }
    ae = results["ae"].by_week[monday]
    summary.headlines.append(
        Headline(
            "ae",
            "A&E 4-hour",
            _pct(ae.percent_within),
            f"{ae.within} of {ae.attendances} attendances within 4 h "
            f"(standard {rules.ae.four_hour_standard_percent:g}%); "
            f"{ae.twelve_hours} over 12 h from arrival, "
            f"{ae.trolley_waits} over 12 h from decision to admit",
        )
    )
    vte = results["vte"].by_week[monday]
    summary.headlines.append(
        Headline(
            "vte",
            "VTE within 14 h",
            _pct(vte.percent),
            f"{vte.met} of {vte.met + vte.not_met} admitted aged 16+ "
            f"(standard {rules.vte.standard_percent:g}%); {vte.not_yet_due} not yet due",
        )
    )
    noon = results["discharges"].by_week[monday]
    summary.headlines.append(
        Headline(
            "discharges",
            "Discharges before noon",
            _pct(noon.percent),
            f"{noon.before_noon} of {noon.discharges} inpatient discharges "
            f"(SAFER {results['discharges'].standard_percent:g}%)",
        )
    )
    occ = results["occupancy"]
    days = [monday + timedelta(days=i) for i in range(7)]
    mean_census = sum(occ.census_total(d) for d in days) / 7
    occupied = 100.0 * mean_census / occ.total_beds if occ.total_beds else None
    bed_days = occ.bed_days_by_week.get(monday, 0.0)
    summary.headlines.append(
        Headline(
            "occupancy",
            "Occupancy",
            _pct(occupied),
            f"midnight census averaged {mean_census:.1f} of {occ.total_beds} beds; "
            f"{bed_days:.2f} bed-days",
        )
    )
    obs = results["observations"].by_week[monday]
    summary.headlines.append(
        Headline(
            "observations",
            "Observations on time",
            _pct(obs.percent),
            f"{obs.on_time} of {obs.due} sets due were taken on time",
        )
    )
    for key in CHARTS:
        kind = REPORTS[key]
        # Short enough that the Content-ID header is never folded (some mail clients then
        # fail to match it); unique per build.
        cid = f"{key}.{week_end:%Y%m%d}.{secrets.token_hex(4)}@{domain}"
        summary.charts.append(Chart(key, kind.title, cid, kind.chart(results[key], "png")))
    return summary


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("whiteboard", "templates/email"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_managers_email(
    summary: ManagersSummary, recipient: str, sender: str, hospital: str, base_url: str
) -> EmailMessage:
    """multipart/alternative (text, then HTML); the HTML part is multipart/related with each
    chart as an inline PNG its ``<img src="cid:...">`` names."""
    env = _environment()
    query = f"from={summary.trend.start.isoformat()}&to={summary.trend.end.isoformat()}"
    context = {
        "s": summary,
        "hospital": hospital,
        "base": base_url.rstrip("/"),
        "query": query,
    }
    domain = sender.rpartition("@")[2] or "wardboard"
    message = EmailMessage()
    message["Subject"] = summary.subject
    message["From"] = sender
    message["To"] = recipient
    message["Message-ID"] = make_msgid(domain=domain)
    message["X-Wardboard-Report"] = f"{KIND}; {summary.week_end.isoformat()}"
    message.set_content(env.get_template("managers_weekly.txt").render(context))
    message.add_alternative(
        env.get_template("managers_weekly.html").render(context), subtype="html"
    )
    html_part = message.get_payload()[1]  # type: ignore[index]
    for chart in summary.charts:
        html_part.add_related(
            chart.png,
            maintype="image",
            subtype="png",
            cid=f"<{chart.cid}>",
            filename=f"{chart.key}-{summary.trend.start}-{summary.trend.end}.png",
            disposition="inline",
        )
    return message


def recipients(settings: Settings) -> list[str]:
    return [a.strip() for a in settings.managers_email_recipients.split(",") if a.strip()]


def send_managers_email(
    services: Services,
    week_end: date | None = None,
    dry_run: bool = False,
    *,
    now: datetime | None = None,
) -> SendSummary:
    """Build the summary once and send it to every configured manager not yet sent it for
    that week (default: the last complete week, Monday to Sunday, UK time)."""
    from whiteboard.models import EmailDelivery

    settings = services.settings
    tz = ZoneInfo(settings.timezone)
    now = now or utcnow()
    if week_end is None:
        week_end = last_complete_week_end(now.astimezone(tz).date())
    elif week_end.weekday() != 6:
        raise ValueError(f"{week_end} is not a Sunday: a week ends on a Sunday")
    result = SendSummary()
    to = recipients(settings)
    if not to:
        result.lines.append("no recipients: set WARDBOARD_MANAGERS_EMAIL_RECIPIENTS")
        return result
    with services.read_session() as session:
        summary = build_managers_summary(
            session,
            week_end,
            tz,
            settings.clinical,
            now,
            settings.managers_email_weeks,
            settings.smtp_sender.rpartition("@")[2] or "wardboard",
        )
        already = set(
            session.scalars(
                select(EmailDelivery.recipient).where(
                    EmailDelivery.kind == KIND,
                    EmailDelivery.report_date == week_end,
                    EmailDelivery.status == "sent",
                )
            )
        )
    base = settings.public_base_url
    if dry_run:
        for address in to:
            result.dry_run += 1
            result.lines.append(f"{address}: {summary.subject}")
        return result
    outgoing = []
    for address in to:
        if address in already:
            result.skipped_already_sent += 1
            continue
        outgoing.append(
            OutgoingEmail(
                recipient=address,
                subject=summary.subject,
                report_date=week_end,
                build=lambda address=address: render_managers_email(
                    summary, address, settings.smtp_sender, settings.hospital_name, base
                ),
            )
        )
    send_and_log(services, KIND, outgoing, result)
    log.info(
        "managers' email for the week to %s: %d sent, %d failed, %d already sent",
        week_end,
        result.sent,
        result.failed,
        result.skipped_already_sent,
    )
    return result
