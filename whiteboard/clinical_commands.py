"""Clinician actions on a stay, as commands: the web API and HL7 build the same ones.

Every command names the acting clinician (``actor``, a clinician code) and, where the EDD gate
applies, their role: the gate is about doctors (see ``whiteboard.clinical_handlers``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from whiteboard.commands import Command


@dataclass(frozen=True)
class ClinicalCommand(Command):
    stay_id: int
    actor: str
    actor_role: str = "doctor"


@dataclass(frozen=True)
class RecordVteAssessment(ClinicalCommand):
    assessed_at: datetime | None = None
    outcome: str = ""


@dataclass(frozen=True)
class RecordObservations(ClinicalCommand):
    taken_at: datetime | None = None
    respiration_rate: int | None = None
    spo2: int | None = None
    spo2_scale: int = 1
    on_oxygen: bool | None = None
    systolic_bp: int | None = None
    pulse: int | None = None
    consciousness: str | None = None
    temperature: float | None = None


@dataclass(frozen=True)
class SetDischargePlan(ClinicalCommand):
    """Set or review the EDD: recording it (even unchanged) counts as the review."""

    edd: date | None = None
    edd_time: time | None = None
    discharge_criteria: str | None = None
    pathway: int | None = None
    post_discharge_needs: tuple[str, ...] | None = None
    next_review_at: datetime | None = None


@dataclass(frozen=True)
class SetCriteriaToReside(ClinicalCommand):
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MakeReferral(ClinicalCommand):
    need: str = ""


@dataclass(frozen=True)
class RecordDecisionToAdmit(ClinicalCommand):
    decided_at: datetime | None = None


@dataclass(frozen=True)
class SetResponsibleClinician(ClinicalCommand):
    clinician_code: str = ""
    from_time: datetime | None = None


@dataclass(frozen=True)
class PickUpReferral(Command):
    """The community team takes a referral task from its worklist."""

    referral_id: int
    actor: str


@dataclass(frozen=True)
class BookOutpatientVisit(Command):
    patient_id: int
    ward: str
    visit_date: date
    actor: str
    visit_time: time | None = None
    reason: str = ""


@dataclass(frozen=True)
class NurseAssignment:
    """One nurse's share of a shift: whole bays and/or single beds (side rooms, 1:1 care)."""

    nurse: str  # the nurse's staff username
    bays: tuple[str, ...] = ()
    beds: tuple[str, ...] = ()


@dataclass(frozen=True)
class SetNurseAllocation(Command):
    """The nurse in charge sets (or replaces) a ward's nurse allocation for one shift."""

    ward: str
    shift_date: date
    shift: str  # day | night
    actor: str  # the signed-on username setting it
    nurse_in_charge: str | None = None
    assignments: tuple[NurseAssignment, ...] = ()
