"""The ward record's tables, one module per area."""

from whiteboard.models.allocation import NurseAllocation, NurseShiftAllocation
from whiteboard.models.clinical import (
    Observation,
    OutpatientBooking,
    Referral,
    ResponsibleClinician,
    StayPlan,
    VteAssessment,
)
from whiteboard.models.email_delivery import EmailDelivery
from whiteboard.models.gp_synopsis import (
    GpSharingAuthorisation,
    GpSynopsis,
    GpSynopsisAllergy,
    GpSynopsisEvent,
    GpSynopsisMedication,
)
from whiteboard.models.orders import Order, Result
from whiteboard.models.report_summaries import (
    ObservationDaySummary,
    ObservationSummaryState,
    ObservationWardDay,
)
from whiteboard.models.scheduling import SchedulerJobRun, SchedulerLease
from whiteboard.models.staff import Clinician
from whiteboard.models.stay import BedOccupancy, Stay
from whiteboard.models.ward import Bay, Bed, Ward

__all__ = [
    "Bay",
    "Bed",
    "BedOccupancy",
    "Clinician",
    "EmailDelivery",
    "GpSharingAuthorisation",
    "GpSynopsis",
    "GpSynopsisAllergy",
    "GpSynopsisEvent",
    "GpSynopsisMedication",
    "NurseAllocation",
    "NurseShiftAllocation",
    "Observation",
    "ObservationDaySummary",
    "ObservationSummaryState",
    "ObservationWardDay",
    "Order",
    "OutpatientBooking",
    "Referral",
    "ResponsibleClinician",
    "Result",
    "SchedulerJobRun",
    "SchedulerLease",
    "Stay",
    "StayPlan",
    "VteAssessment",
    "Ward",
]
