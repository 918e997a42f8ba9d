"""The facts the alert rules read: plain frozen values, built by the database layer.

Rules never see ORM objects, so they can be tested from tables and reused by boards, emails and
reports alike. Every datetime must be timezone-aware; it is stored here in UTC (see ``clock``).
Sequences given as lists are stored as tuples so the facts stay hashable.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time
from typing import Literal, NamedTuple

from whiteboard.alerts.clock import as_utc

Consciousness = Literal["A", "C", "V", "P", "U"]
OrderKind = Literal["lab", "imaging"]
Priority = Literal["critical", "urgent", "routine"]

# Modality codes that mean a plain radiograph: DICOM CR/DX, HL7 table 0074 RX, and the common XR.
RADIOGRAPH_MODALITIES = frozenset({"XR", "CR", "DX", "RX"})

# Post-discharge needs named in the discharge guidance; other strings are accepted as given.
POST_DISCHARGE_NEEDS = (
    "physiotherapy",
    "dietary_monitoring",
    "social_services",
    "district_nursing",
)


def _normalise(obj: object) -> None:
    """Convert aware datetimes to UTC and lists to tuples, in place on a frozen dataclass."""
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if isinstance(value, datetime):
            object.__setattr__(obj, f.name, as_utc(value, f.name))
        elif isinstance(value, list):
            object.__setattr__(obj, f.name, tuple(value))


@dataclass(frozen=True)
class ObservationSet:
    """One set of observations. A parameter not measured is None (the score is then partial)."""

    taken_at: datetime
    respiration_rate: int | None = None
    spo2: int | None = None
    spo2_scale: Literal[1, 2] = 1
    on_oxygen: bool | None = None
    systolic_bp: int | None = None
    pulse: int | None = None
    consciousness: Consciousness | None = None
    temperature: float | None = None

    def __post_init__(self) -> None:
        _normalise(self)
        if self.spo2_scale not in (1, 2):
            raise ValueError(f"spo2_scale must be 1 or 2, got {self.spo2_scale!r}")
        if self.consciousness is not None and self.consciousness not in "ACVPU":
            raise ValueError(f"consciousness must be one of A C V P U, got {self.consciousness!r}")


@dataclass(frozen=True)
class OrderFacts:
    """A test or examination ordered during the stay, with its lifecycle timestamps."""

    order_id: str
    kind: OrderKind
    ordered_at: datetime
    priority: Priority = "routine"
    description: str = ""
    modality: str | None = None
    consultant_directed: bool = False
    inpatient: bool = True
    performed_at: datetime | None = None
    reported_at: datetime | None = None
    acknowledged_at: datetime | None = None
    result_urgency: Priority = "routine"
    unexpected_significant: bool = False
    cancelled: bool = False
    # A result whose order we never saw (kept, never dropped): nobody is known to expect it.
    unmatched: bool = False

    def __post_init__(self) -> None:
        _normalise(self)
        if self.kind not in ("lab", "imaging"):
            raise ValueError(f"kind must be 'lab' or 'imaging', got {self.kind!r}")
        for name in ("priority", "result_urgency"):
            if getattr(self, name) not in ("critical", "urgent", "routine"):
                raise ValueError(f"{name} must be critical, urgent or routine")

    @property
    def is_radiograph(self) -> bool:
        return self.kind == "imaging" and (self.modality or "").upper() in RADIOGRAPH_MODALITIES

    @property
    def escalates_at_once(self) -> bool:
        """Critical, urgent and unexpected-significant results need action on reporting."""
        return (
            self.unexpected_significant
            or self.result_urgency != "routine"
            or self.priority != "routine"
        )


@dataclass(frozen=True)
class ReferralFacts:
    """A community referral for one post-discharge need."""

    need: str
    referral_id: str | None = None
    sent_at: datetime | None = None
    picked_up_at: datetime | None = None

    def __post_init__(self) -> None:
        _normalise(self)


@dataclass(frozen=True)
class StayFacts:
    """An inpatient stay as the rules need it."""

    admitted_at: datetime
    stay_id: str | None = None
    decision_to_admit_at: datetime | None = None
    discharged_at: datetime | None = None
    age_years: int | None = None
    pregnant: bool = False
    vte_assessed_at: datetime | None = None
    consultant_reviewed_at: datetime | None = None
    condition_changed_at: datetime | None = None
    observations: tuple[ObservationSet, ...] = ()
    edd: date | None = None
    edd_time: time | None = None
    edd_reviewed_at: datetime | None = None
    post_discharge_needs: tuple[str, ...] = ()
    referrals: tuple[ReferralFacts, ...] = ()
    orders: tuple[OrderFacts, ...] = ()

    def __post_init__(self) -> None:
        _normalise(self)
        if isinstance(self.edd, datetime):
            raise ValueError("edd is a date; put the time in edd_time")

    @property
    def latest_observation(self) -> ObservationSet | None:
        return max(self.observations, key=lambda o: o.taken_at, default=None)


class DoctorInCharge(NamedTuple):
    """From ``from_time`` until the next entry, this doctor is responsible for the patient."""

    from_time: datetime
    doctor_code: str
    doctor_name: str


@dataclass(frozen=True)
class AttendanceFacts:
    """An A&E attendance. ``left_at`` is admission, transfer or discharge from the department."""

    arrived_at: datetime
    attendance_id: str | None = None
    decision_to_admit_at: datetime | None = None
    admitted_at: datetime | None = None
    left_at: datetime | None = None
    responsible: tuple[DoctorInCharge, ...] = ()
    orders: tuple[OrderFacts, ...] = ()

    def __post_init__(self) -> None:
        _normalise(self)
        doctors = tuple(
            DoctorInCharge(as_utc(entry[0], "responsible.from_time"), entry[1], entry[2])
            for entry in self.responsible
        )
        object.__setattr__(self, "responsible", tuple(sorted(doctors, key=lambda d: d[0])))

    @property
    def stopped_at(self) -> datetime | None:
        """When the department clocks stopped: the earliest of admission and leaving."""
        ends = [t for t in (self.admitted_at, self.left_at) if t is not None]
        return min(ends, default=None)

    def doctor_at(self, moment: datetime) -> DoctorInCharge | None:
        """The doctor in charge at ``moment``: the latest entry starting at or before it."""
        moment = as_utc(moment, "moment")
        current = None
        for entry in self.responsible:
            if entry.from_time <= moment:
                current = entry
        return current
