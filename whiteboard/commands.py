"""Commands: what someone (an HL7 sender or a person on the web) asks the record to do.

HL7 translators and web routes build the same commands, so a board updates the same way
whoever changed the record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class Identifier:
    value: str
    authority: str
    id_type: str = ""


@dataclass(frozen=True)
class PatientDetails:
    """Who the patient is, as the sender describes them (PID)."""

    identifiers: tuple[Identifier, ...]
    nhs_number: str | None = None
    family_name: str = ""
    given_names: str = ""
    title: str | None = None
    date_of_birth: date | None = None
    sex: str | None = None
    address: str | None = None
    postcode: str | None = None
    gp_practice_code: str | None = None


@dataclass(frozen=True)
class ClinicianRef:
    code: str
    family_name: str = ""
    given_names: str = ""
    prefix: str = ""


@dataclass(frozen=True)
class Location:
    """PV1-3: point of care (ward), room (bay) and bed."""

    ward: str
    bay: str | None = None
    bed: str | None = None


@dataclass(frozen=True)
class VisitDetails:
    """Where and under whom (PV1)."""

    patient_class: str  # I, E, O
    location: Location | None
    visit_number: str | None = None
    clinician: ClinicianRef | None = None
    admitted_at: datetime | None = None
    discharged_at: datetime | None = None
    prior_location: Location | None = None


@dataclass(frozen=True)
class Command:
    """Base: every command says when it happened and where it came from (for audit)."""

    occurred_at: datetime
    source: str = field(default="", kw_only=True)


@dataclass(frozen=True)
class AdmitPatient(Command):
    patient: PatientDetails
    visit: VisitDetails


@dataclass(frozen=True)
class RegisterPatient(Command):
    """An A&E attendance or an outpatient visit (A04)."""

    patient: PatientDetails
    visit: VisitDetails


@dataclass(frozen=True)
class TransferPatient(Command):
    patient: PatientDetails
    visit: VisitDetails


@dataclass(frozen=True)
class DischargePatient(Command):
    patient: PatientDetails
    visit: VisitDetails


@dataclass(frozen=True)
class UpdatePatientInformation(Command):
    patient: PatientDetails
    visit: VisitDetails | None = None


@dataclass(frozen=True)
class CancelAdmission(Command):
    patient: PatientDetails
    visit: VisitDetails


@dataclass(frozen=True)
class CancelTransfer(Command):
    """PV1-3 holds the location the patient goes back to."""

    patient: PatientDetails
    visit: VisitDetails


@dataclass(frozen=True)
class CancelDischarge(Command):
    patient: PatientDetails
    visit: VisitDetails


@dataclass(frozen=True)
class SwapBeds(Command):
    """A17: two patients exchange locations, both or neither.

    ``visit``/``other_visit`` say which stays (PV1-19); the locations exchanged are the ones
    the record holds, so a sender's convention for PV1-3 (before or after) does not matter.
    """

    patient: PatientDetails
    visit: VisitDetails
    other_patient: PatientDetails
    other_visit: VisitDetails


@dataclass(frozen=True)
class StartLeave(Command):
    """A21 leave of absence out (or A53: the return is cancelled, so back on that leave)."""

    patient: PatientDetails
    visit: VisitDetails
    resume: bool = False  # A53: undo the return rather than start a new leave


@dataclass(frozen=True)
class EndLeave(Command):
    """A22 back from leave of absence (or A52: the leave is cancelled, as if never taken)."""

    patient: PatientDetails
    visit: VisitDetails
    cancel: bool = False  # A52


@dataclass(frozen=True)
class SetBedStatus(Command):
    """A bed's HL7 table 0116 state: cleaned (U), needs cleaning (H), closed (C), ..."""

    location: Location
    status: str


@dataclass(frozen=True)
class MergePatient(Command):
    """A40/A34: the record known by ``prior`` is the same person as ``patient`` (survivor).

    HL7 names both records by identifier; the handler finds them and hands over to the index's
    own merge (``mpi.handlers.merge_and_announce``), the one a records clerk's merge uses.
    """

    patient: PatientDetails
    prior: Identifier


@dataclass(frozen=True)
class OrderDetails:
    """ORC/OBR: which order, of what, by whom."""

    placer_system: str
    placer_order_number: str
    filler_order_number: str | None = None
    service_code: str = ""
    service_text: str = ""
    ordering_practice: str | None = None
    kind: str = "lab"  # lab or imaging (OBR-24, else the service code's prefix)
    modality: str | None = None  # imaging: XR, CT, MR, US, NM, MG
    priority: str = "routine"  # critical (S stat), urgent (A, T) or routine
    ordered_by: str | None = None  # ORC-12.1 ordering provider, or the signed-in clinician
    consultant_directed: bool = False  # a consultant ordered or directed it (web form)


@dataclass(frozen=True)
class PlaceOrder(Command):
    """ORM^O01 / OML^O21 with ORC-1 NW (new), CA (cancel) or SC (status changed), or a
    clinician's order from the patient page (``source="web"``).

    ``patient_id`` is set when the order is placed from our own record (the web form): the
    patient is then that record, not resolved again from the PID details.
    """

    patient: PatientDetails
    order: OrderDetails
    control: str = "NW"
    order_status: str = ""  # ORC-5 with SC
    patient_id: int | None = None


@dataclass(frozen=True)
class RecordResult(Command):
    """ORU^R01: a lab or imaging result (OBR-25 P preliminary, F final, C corrected)."""

    patient: PatientDetails
    order: OrderDetails
    report_status: str
    observations: tuple[str, ...] = ()
    result_urgency: str = "routine"  # critical, abnormal or routine (the worst OBX-8 flag)


@dataclass(frozen=True)
class AcknowledgeResult(Command):
    """A named clinician has read a result and taken responsibility for acting on it."""

    result_id: int
    actor: str
    actor_role: str = "doctor"
