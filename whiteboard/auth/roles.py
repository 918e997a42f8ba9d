"""The roles and the permission matrix: the single table docs/SECURITY.md documents.

Every page, API route and Socket.IO event is mapped to one permission in ``policy.py``; this
module says which role holds which permission. Changing who may do what is a change here.
"""

from __future__ import annotations

NURSE = "nurse"
DOCTOR = "doctor"
CONSULTANT = "consultant"
RECORDS_CLERK = "records_clerk"
MANAGER = "manager"
GP = "gp"
ADMIN = "admin"
KIOSK = "kiosk"
SCRAPER = "scraper"  # a monitoring system presenting WARDBOARD_METRICS_TOKEN, not a person

STAFF_ROLES = (NURSE, DOCTOR, CONSULTANT, RECORDS_CLERK, MANAGER, GP, ADMIN)
ROLES = (*STAFF_ROLES, KIOSK, SCRAPER)

# Permissions.
BOARD_VIEW = "board.view"  # a ward's board (kiosks: privacy mode, own ward only)
WARD_LIST = "ward.list"  # the index of wards
PATIENT_VIEW = "patient.view"  # one patient's record (GPs: own practice's patients only)
AUDIT_SEARCH = "audit.search"  # who looked at which record
SESSION = "session"  # the signed-on user's own session (sign-off, session socket)
USERS_MANAGE = "users.manage"  # staff, cards, kiosks, workstations (CLI today)
CLINICAL_ACT = "clinical.act"  # VTE, observations, EDD, referrals, bed cleaned, bookings
RESULT_ACKNOWLEDGE = "result.acknowledge"  # a named doctor takes on a reported result
ORDER_PLACE = "order.place"  # order a blood test or x-ray for a patient (doctors)
WORKLOAD_VIEW = "workload.view"  # patients and open alerts per doctor and per nurse
NURSE_ALLOCATE = "nurse.allocate"  # set a ward's nurse allocation to bays and beds per shift
REPORTS_VIEW = "reports.view"  # managers' reports and their charts and CSV
JOBS_VIEW = "jobs.view"  # the scheduler's jobs, last and next runs
MPI_REVIEW = "mpi.review"  # the duplicate-merge queue: merge, unmerge, not a duplicate
HL7_MONITOR = "hl7.monitor"  # the message monitor, error queue and replay (raw patient data)
METRICS_VIEW = "metrics.view"  # GET /metrics: queue depths, push timings (no patient data)
GP_RECORD_VIEW = "gp_record.view"  # a practice's shared synopsis (only if the practice shares)
GP_SYNOPSIS_SUBMIT = "gp_synopsis.submit"  # send a synopsis for own practice's patients (GPs)
GP_SHARING_MANAGE = "gp_sharing.manage"  # record or revoke a practice's sharing authorisation
GP_PORTAL = "gp.portal"  # a GP's list of own registered patients' hospital episodes

MATRIX: dict[str, frozenset[str]] = {
    NURSE: frozenset({BOARD_VIEW, WARD_LIST, PATIENT_VIEW, CLINICAL_ACT, NURSE_ALLOCATE, SESSION}),
    DOCTOR: frozenset(
        {
            BOARD_VIEW,
            WARD_LIST,
            PATIENT_VIEW,
            CLINICAL_ACT,
            RESULT_ACKNOWLEDGE,
            ORDER_PLACE,
            GP_RECORD_VIEW,
            SESSION,
        }
    ),
    CONSULTANT: frozenset(
        {
            BOARD_VIEW,
            WARD_LIST,
            PATIENT_VIEW,
            CLINICAL_ACT,
            RESULT_ACKNOWLEDGE,
            ORDER_PLACE,
            WORKLOAD_VIEW,
            GP_RECORD_VIEW,
            SESSION,
        }
    ),
    RECORDS_CLERK: frozenset({BOARD_VIEW, WARD_LIST, PATIENT_VIEW, MPI_REVIEW, SESSION}),
    MANAGER: frozenset(
        {
            BOARD_VIEW,
            WARD_LIST,
            PATIENT_VIEW,
            AUDIT_SEARCH,
            WORKLOAD_VIEW,
            NURSE_ALLOCATE,
            REPORTS_VIEW,
            METRICS_VIEW,
            SESSION,
        }
    ),
    GP: frozenset({PATIENT_VIEW, GP_SYNOPSIS_SUBMIT, GP_PORTAL, SESSION}),
    ADMIN: frozenset(
        {
            BOARD_VIEW,
            WARD_LIST,
            AUDIT_SEARCH,
            USERS_MANAGE,
            REPORTS_VIEW,
            JOBS_VIEW,
            HL7_MONITOR,
            METRICS_VIEW,
            GP_SHARING_MANAGE,
            SESSION,
        }
    ),
    KIOSK: frozenset({BOARD_VIEW}),
    SCRAPER: frozenset({METRICS_VIEW}),
}

PERMISSIONS = tuple(sorted(set().union(*MATRIX.values())))


def allowed(role: str, permission: str) -> bool:
    return permission in MATRIX.get(role, frozenset())


def matrix_markdown() -> str:
    """The matrix as the Markdown table in docs/SECURITY.md (a test keeps the two equal)."""
    head = "| permission | " + " | ".join(ROLES) + " |"
    rule = "|---|" + "|".join(":-:" for _ in ROLES) + "|"
    rows = [
        f"| `{p}` | " + " | ".join("yes" if p in MATRIX[r] else "no" for r in ROLES) + " |"
        for p in PERMISSIONS
    ]
    return "\n".join([head, rule, *rows])
