"""The managers' workload view: patients and open alerts per doctor and per nurse now.

Built from the boards' own snapshots (the same patients, beds and alerts the wall shows), so
the view and the boards never disagree. Doctors are the stay's responsible clinician (PV1-7);
nurses come from the current shift's allocation (a bed's own nurse, else its bay's). Open
alerts are those at amber or worse, counted per person by level and by kind (the alert code).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from whiteboard.nurse_allocation import WardNurses
from whiteboard.shifts import Shift

OPEN_LEVELS = ("purple", "red", "amber")  # most severe first; "info" is not an open alert
KIND_NAMES = {
    "vte": "VTE assessment",
    "obs": "Observations",
    "news2": "NEWS2",
    "result": "Results",
    "edd": "EDD",
    "edd_time": "EDD time",
    "long_stay": "Long stay",
    "referral": "Referral",
    "ae_4h": "A&E 4 hours",
    "ae_12h": "A&E 12 hours",
    "trolley_12h": "12-hour trolley wait",
}
NO_DOCTOR = {"code": "", "name": "No doctor"}
NOT_ALLOCATED = {"username": "", "name": "Not allocated"}


def kind_name(code: str) -> str:
    return KIND_NAMES.get(code, code)


def _entry(who: dict[str, str]) -> dict[str, Any]:
    return {
        **who,
        "patients": 0,
        "with_alerts": 0,
        "wards": set(),
        "alerts": {"total": 0, "by_level": {}, "by_kind": {}},
    }


def _count(entry: dict[str, Any], ward: str, open_alerts: list[dict[str, Any]]) -> None:
    entry["patients"] += 1
    entry["wards"].add(ward)
    if not open_alerts:
        return
    entry["with_alerts"] += 1
    alerts = entry["alerts"]
    for a in open_alerts:
        level, code = a["level"], a.get("code") or "other"
        alerts["total"] += 1
        alerts["by_level"][level] = alerts["by_level"].get(level, 0) + 1
        kind = alerts["by_kind"].setdefault(code, {})
        kind[level] = kind.get(level, 0) + 1


def _finish(entries: dict[str, dict[str, Any]], last: str) -> list[dict[str, Any]]:
    """Busiest first (most patients with alerts, then most patients); the catch-all row
    (no doctor, not allocated) last."""
    items = sorted(
        entries.values(),
        key=lambda e: (
            e.get("code", e.get("username")) == last,
            -e["with_alerts"],
            -e["patients"],
            e["name"],
        ),
    )
    for item in items:
        item["wards"] = sorted(item["wards"])
        by_level = item["alerts"]["by_level"]
        item["alerts"]["by_level"] = {lv: by_level[lv] for lv in OPEN_LEVELS if lv in by_level}
    return items


def build_workload(
    snapshots: Iterable[tuple[str, dict[str, Any] | None]],
    nurses: dict[str, WardNurses],
    shift: Shift,
    now: datetime,
) -> dict[str, Any]:
    doctors: dict[str, dict[str, Any]] = {}
    by_nurse: dict[str, dict[str, Any]] = {}
    wards: list[dict[str, Any]] = []
    for code, snap in snapshots:
        if not snap:
            continue
        where: dict[str, tuple[str, str]] = {}
        for bay in snap.get("bays", ()):
            for bed in bay.get("beds", ()):
                if bed.get("patient"):
                    where[bed["patient"]] = (bay.get("code") or "", bed["code"])
        allocation = nurses.get(code, WardNurses())
        ward = {
            "code": code,
            "name": snap["ward"]["name"],
            "patients": 0,
            "with_alerts": 0,
            "nurses": len(
                {n.username for n in (*allocation.by_bay.values(), *allocation.by_bed.values())}
            ),
            "unallocated_patients": 0,
        }
        for p in snap.get("patients", ()):
            open_alerts = [a for a in p.get("alerts", ()) if a.get("level") in OPEN_LEVELS]
            ward["patients"] += 1
            ward["with_alerts"] += 1 if open_alerts else 0
            doctor = p.get("doctor") or NO_DOCTOR
            _count(doctors.setdefault(doctor["code"], _entry(doctor)), code, open_alerts)
            place = where.get(p["key"])
            if place is None:
                continue  # not in a bed (A&E waiting, a visiting outpatient): no bay nurse
            nurse = allocation.nurse_for(*place)
            if nurse is None:
                ward["unallocated_patients"] += 1
            who = nurse.to_dict() if nurse else NOT_ALLOCATED
            _count(by_nurse.setdefault(who["username"], _entry(who)), code, open_alerts)
        wards.append(ward)
    return {
        "generated_at": now.isoformat(),
        "shift": shift.to_dict(),
        "doctors": _finish(doctors, ""),
        "nurses": _finish(by_nurse, ""),
        "wards": wards,
    }
