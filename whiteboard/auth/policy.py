"""The one place that decides who may reach what: pages, API routes and Socket.IO events.

Every Flask endpoint and every Socket.IO (namespace, event) must appear below, either as
public or with the permission it needs; anything not listed is refused (fail closed), so a new
route is unreachable until someone decides who may use it. ``whiteboard/web/access.py`` calls
``decide`` before every request and every socket event; tests/integration/test_access.py scans
every route and event to prove it.
"""

from __future__ import annotations

from dataclasses import dataclass

from whiteboard.auth import roles
from whiteboard.auth.principal import Principal

PUBLIC = "public"  # anyone, signed on or not
WORKSTATION = "workstation"  # no principal: the view checks the workstation secret itself

ENDPOINTS: dict[str, str] = {
    "static": PUBLIC,
    "health.healthz": PUBLIC,
    "auth.signon": PUBLIC,
    "auth.signon_password": PUBLIC,
    "auth.ticket": PUBLIC,
    "auth.signoff": roles.SESSION,
    "auth.card_reader": WORKSTATION,
    "boards.index": roles.WARD_LIST,
    "boards.board": roles.BOARD_VIEW,
    "api.wards": roles.WARD_LIST,
    "api.ward_board": roles.BOARD_VIEW,
    "api.openapi": roles.SESSION,
    "patients.search": roles.PATIENT_VIEW,
    "patients.record": roles.PATIENT_VIEW,
    "patients.api_search": roles.PATIENT_VIEW,
    "patients.api_record": roles.PATIENT_VIEW,
    "audit.page": roles.AUDIT_SEARCH,
    "audit.api_search": roles.AUDIT_SEARCH,
    "audit.api_verify": roles.AUDIT_SEARCH,
    "clinical_api.record_vte": roles.CLINICAL_ACT,
    "clinical_api.record_observations": roles.CLINICAL_ACT,
    "clinical_api.set_discharge_plan": roles.CLINICAL_ACT,
    "clinical_api.set_criteria_to_reside": roles.CLINICAL_ACT,
    "clinical_api.make_referral": roles.CLINICAL_ACT,
    "clinical_api.decision_to_admit": roles.CLINICAL_ACT,
    "clinical_api.responsible_clinician": roles.CLINICAL_ACT,
    "clinical_api.pick_up_referral": roles.CLINICAL_ACT,
    "clinical_api.bed_cleaned": roles.CLINICAL_ACT,
    "clinical_api.book_outpatient_visit": roles.CLINICAL_ACT,
    "clinical_api.referral_worklist": roles.CLINICAL_ACT,
    "clinical_api.stay_panel": roles.CLINICAL_ACT,
    "clinical_api.workload": roles.WORKLOAD_VIEW,
    "allocation.api_get": roles.NURSE_ALLOCATE,
    "allocation.api_set": roles.NURSE_ALLOCATE,
    "allocation.page": roles.NURSE_ALLOCATE,
    "allocation.page_set": roles.NURSE_ALLOCATE,
    "workload.page": roles.WORKLOAD_VIEW,
    "workload.chart": roles.WORKLOAD_VIEW,
    "clinical_api.acknowledge_result": roles.RESULT_ACKNOWLEDGE,
    "clinical_api.place_order": roles.ORDER_PLACE,
    "reports.index": roles.REPORTS_VIEW,
    "reports.page": roles.REPORTS_VIEW,
    "reports.csv_download": roles.REPORTS_VIEW,
    "reports.chart": roles.REPORTS_VIEW,
    "admin.jobs_json": roles.JOBS_VIEW,
    "admin.jobs_page": roles.JOBS_VIEW,
    "hl7_api.messages": roles.HL7_MONITOR,
    "hl7_api.message": roles.HL7_MONITOR,
    "hl7_api.errors": roles.HL7_MONITOR,
    "hl7_api.replay": roles.HL7_MONITOR,
    "hl7_api.orders": roles.HL7_MONITOR,
    "hl7_api.results": roles.HL7_MONITOR,
    "hl7_api.outbound": roles.HL7_MONITOR,
    "hl7_monitor.monitor": roles.HL7_MONITOR,
    "metrics.metrics": roles.METRICS_VIEW,
    "mpi_api.review_queue": roles.MPI_REVIEW,
    "mpi_api.review_pair": roles.MPI_REVIEW,
    "mpi_api.review_merge": roles.MPI_REVIEW,
    "mpi_api.review_not_duplicate": roles.MPI_REVIEW,
    "mpi_api.review_defer": roles.MPI_REVIEW,
    "mpi_api.manual_merge": roles.MPI_REVIEW,
    "mpi_api.merges": roles.MPI_REVIEW,
    "mpi_api.unmerge": roles.MPI_REVIEW,
    "mpi_api.unlink": roles.MPI_REVIEW,
    "mpi_api.patient": roles.MPI_REVIEW,
    "mpi_api.search_patients": roles.MPI_REVIEW,
    "mpi_api.sweep": roles.MPI_REVIEW,
    "mpi_api.gp_feed_runs": roles.MPI_REVIEW,
    "mpi_pages.review": roles.MPI_REVIEW,
    "mpi_pages.static": PUBLIC,
    "gp.submit_synopsis": roles.GP_SYNOPSIS_SUBMIT,
    "gp.portal": roles.GP_PORTAL,
    "gp.api_portal": roles.GP_PORTAL,
    "gp.api_patient_synopsis": roles.GP_RECORD_VIEW,
    "gp.sharing_list": roles.GP_SHARING_MANAGE,
    "gp.sharing_authorise": roles.GP_SHARING_MANAGE,
    "gp.sharing_revoke": roles.GP_SHARING_MANAGE,
    "gp.sharing_page": roles.GP_SHARING_MANAGE,
    "gp.sharing_page_authorise": roles.GP_SHARING_MANAGE,
    "gp.sharing_page_revoke": roles.GP_SHARING_MANAGE,
}

# (namespace, event) -> permission. "connect" is checked when the socket opens.
SOCKET_EVENTS: dict[tuple[str, str], str] = {
    ("/board", "connect"): roles.BOARD_VIEW,
    ("/board", "join"): roles.BOARD_VIEW,
    ("/session", "connect"): roles.SESSION,
    ("/board", "disconnect"): PUBLIC,  # bookkeeping only
    ("/session", "disconnect"): PUBLIC,
}

# Path parameters that name a ward: a ward-scoped principal (a kiosk) may only use its own.
WARD_ARGS = ("code", "ward")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    status: int = 200  # 401 nobody signed on, 403 signed on but not allowed
    reason: str = ""


ALLOW = Decision(True)


def decide(
    permission: str | None, principal: Principal | None, ward: str | None = None
) -> Decision:
    if permission is None:
        return Decision(False, 404 if principal else 401, "not an endpoint anyone may use")
    if permission in (PUBLIC, WORKSTATION):
        return ALLOW
    if principal is None:
        return Decision(False, 401, "sign on first")
    if not principal.may(permission):
        return Decision(False, 403, f"your role ({principal.role}) may not do this")
    if ward is not None and not principal.may_see_ward(ward):
        return Decision(False, 403, "this board may only show its own ward")
    return ALLOW


def may_view_gp_record(principal: Principal | None) -> bool:
    """Whether this principal may be shown a GP synopsis at all (the practice must also share:
    ``whiteboard.gp_record`` checks that per patient). Used inside the patient page, whose
    route needs only ``patient.view``."""
    return decide(roles.GP_RECORD_VIEW, principal).allowed


def for_endpoint(endpoint: str | None) -> str | None:
    return ENDPOINTS.get(endpoint or "")


def for_socket(namespace: str, event: str) -> str | None:
    return SOCKET_EVENTS.get((namespace, event))
