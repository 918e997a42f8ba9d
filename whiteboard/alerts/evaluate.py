"""All alerts for one stay or one A&E attendance, most severe first.

This is what boards, the consultant email and reports call; each rule stays in its own module
so it can be read and tested against its source on its own. A discharged stay keeps only its
unacknowledged results: everything else is about a patient who is no longer on the ward.
"""

from __future__ import annotations

from datetime import datetime

from config.clinical import ClinicalRules
from whiteboard.alerts.ae_clock import ae_alerts
from whiteboard.alerts.clock import as_utc
from whiteboard.alerts.edd import edd_alert, edd_time_alert
from whiteboard.alerts.facts import AttendanceFacts, StayFacts
from whiteboard.alerts.long_stay import long_stay_alert
from whiteboard.alerts.model import Alert, by_severity
from whiteboard.alerts.observations import news2_alert, observation_alert
from whiteboard.alerts.referrals import referral_alerts
from whiteboard.alerts.results import result_alert, result_alerts
from whiteboard.alerts.vte import vte_alert


def alerts_for_stay(stay: StayFacts, now: datetime, rules: ClinicalRules) -> list[Alert]:
    now = as_utc(now, "now")
    alerts = result_alerts(stay, now, rules)
    if stay.discharged_at is None or stay.discharged_at > now:
        single = (
            vte_alert(stay, now, rules),
            observation_alert(stay, now, rules),
            news2_alert(stay, now, rules),
            edd_alert(stay, now, rules),
            edd_time_alert(stay, now, rules),
            long_stay_alert(stay, now, rules),
        )
        alerts.extend(a for a in single if a is not None)
        alerts.extend(referral_alerts(stay, now, rules))
    return by_severity(alerts)


def alerts_for_attendance(att: AttendanceFacts, now: datetime, rules: ClinicalRules) -> list[Alert]:
    """The department clocks, and the results of tests ordered during the attendance."""
    now = as_utc(now, "now")
    alerts = ae_alerts(att, now, rules)
    stay_open = att.stopped_at is None or att.stopped_at > now
    for order in att.orders:
        alert = result_alert(order, now, rules, stay_open=stay_open)
        if alert is not None:
            alerts.append(alert)
    return by_severity(alerts)
