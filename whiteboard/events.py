"""Events: what has happened to the record, published after the transaction commits.

Every event names the wards whose boards it changes; the board publisher needs nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    @property
    def wards(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True)
class StayEvent(Event):
    stay_id: int
    patient_id: int
    ward: str

    @property
    def wards(self) -> tuple[str, ...]:
        return (self.ward,)


@dataclass(frozen=True)
class PatientAdmitted(StayEvent):
    pass


@dataclass(frozen=True)
class PatientRegistered(StayEvent):
    pass


@dataclass(frozen=True)
class PatientDischarged(StayEvent):
    pass


@dataclass(frozen=True)
class AdmissionCancelled(StayEvent):
    pass


@dataclass(frozen=True)
class DischargeCancelled(StayEvent):
    pass


@dataclass(frozen=True)
class AttendanceEnded(StayEvent):
    """An A&E attendance stopped because the patient was admitted."""


@dataclass(frozen=True)
class PatientTransferred(StayEvent):
    from_ward: str

    @property
    def wards(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.from_ward, self.ward)))


@dataclass(frozen=True)
class TransferCancelled(PatientTransferred):
    pass


@dataclass(frozen=True)
class BedSwapped(PatientTransferred):
    """A17: this stay took the location of ``with_stay_id`` (one event per patient, so each
    patient's audit trail shows the move; both wards' boards are named)."""

    with_stay_id: int


@dataclass(frozen=True)
class LeaveStarted(StayEvent):
    """A21 (or A53): the patient is away on leave and keeps the bed."""


@dataclass(frozen=True)
class LeaveEnded(StayEvent):
    """A22 (or A52): the patient is back, or the leave is cancelled."""


@dataclass(frozen=True)
class PatientDetailsChanged(Event):
    patient_id: int
    on_wards: tuple[str, ...] = ()

    @property
    def wards(self) -> tuple[str, ...]:
        return self.on_wards


@dataclass(frozen=True)
class BedStatusChanged(Event):
    ward: str
    bed: str
    status: str

    @property
    def wards(self) -> tuple[str, ...]:
        return (self.ward,)


@dataclass(frozen=True)
class ClinicalRecordChanged(StayEvent):
    """An assessment, observation, plan, referral or responsible clinician changed."""


@dataclass(frozen=True)
class OutpatientVisitBooked(Event):
    booking_id: int
    ward: str

    @property
    def wards(self) -> tuple[str, ...]:
        return (self.ward,)


@dataclass(frozen=True)
class OnWards(Event):
    """An order-communications event: it changes the boards of the wards where the patient is
    now (their result alerts), named by the handler."""

    @property
    def wards(self) -> tuple[str, ...]:
        return getattr(self, "on_wards", ())


@dataclass(frozen=True)
class OrderPlaced(OnWards):
    """A new order (HL7 or a clinician on the web): audited with the patient."""

    order_id: int
    on_wards: tuple[str, ...] = ()
    patient_id: int | None = None


@dataclass(frozen=True)
class OrderStatusChanged(OnWards):
    order_id: int
    status: str
    on_wards: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResultReceived(OnWards):
    result_id: int
    order_id: int | None  # None: a result for an order we do not know, kept and visible
    on_wards: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResultAcknowledged(OnWards):
    """A named clinician acknowledged a result (audited with the patient)."""

    result_id: int
    patient_id: int
    acknowledged_by: str
    on_wards: tuple[str, ...] = ()


@dataclass(frozen=True)
class GpSynopsisRecorded(Event):
    """A practice's synopsis for a patient was stored (audited with the patient)."""

    patient_id: int
    practice: str
    synopsis_id: int


@dataclass(frozen=True)
class GpSharingChanged(Event):
    practice: str
    shared: bool


@dataclass(frozen=True)
class NurseAllocationSet(Event):
    """A ward's nurse allocation for a shift was set or replaced. The board does not show
    nurses, so no board re-pushes (``wards`` is empty); the web action audits it."""

    ward: str
    shift_date: str  # ISO date the shift starts on
    shift: str
    allocation_id: int
