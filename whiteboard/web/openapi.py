"""The OpenAPI description of /api/v1, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from whiteboard.order_catalogue import CATALOGUE, PRIORITIES

PROBLEM = {"$ref": "#/components/schemas/Problem"}


# Clinician actions (whiteboard/web/clinical_api.py): (method, path, summary, success status).
CLINICAL_ROUTES = (
    ("post", "/api/v1/stays/{stay_id}/vte-assessments", "Record a VTE risk assessment", "201"),
    ("post", "/api/v1/stays/{stay_id}/observations", "Record observations (NEWS2 computed)", "201"),
    ("put", "/api/v1/stays/{stay_id}/discharge-plan", "Set or review the EDD and plan", "200"),
    ("put", "/api/v1/stays/{stay_id}/criteria-to-reside", "Set criteria-to-reside codes", "200"),
    ("post", "/api/v1/stays/{stay_id}/referrals", "Make a community referral", "201"),
    ("post", "/api/v1/stays/{stay_id}/decision-to-admit", "Record A&E decision to admit", "200"),
    ("put", "/api/v1/stays/{stay_id}/responsible-clinician", "Hand over responsibility", "200"),
    ("get", "/api/v1/stays/{stay_id}", "The patient panel: plan, observations, alerts", "200"),
    ("post", "/api/v1/referrals/{referral_id}/pick-up", "Community team takes a task", "200"),
    ("get", "/api/v1/referrals/worklist", "Open community referral tasks", "200"),
    ("post", "/api/v1/wards/{code}/beds/{bed}/cleaned", "Mark a bed cleaned", "200"),
    ("post", "/api/v1/outpatient-bookings", "Book an outpatient visit to a ward", "201"),
    (
        "get",
        "/api/v1/workload",
        "Patients and open alerts (by level and kind) per doctor and per nurse this shift",
        "200",
    ),
    ("post", "/api/v1/results/{result_id}/acknowledge", "Acknowledge a result (doctors)", "200"),
    (
        "post",
        "/api/v1/patients/{patient_id}/orders",
        "Order a blood test or x-ray (doctors)",
        "201",
    ),
)


def _order_body() -> dict[str, Any]:
    """The order route's JSON body: a test from the catalogue, its priority, and whether a
    consultant directed it (a consultant's own order always is)."""
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["test"],
                    "additionalProperties": False,
                    "properties": {
                        "test": {
                            "type": "string",
                            "enum": [o.code for o in CATALOGUE],
                            "description": "; ".join(f"{o.code} {o.text}" for o in CATALOGUE),
                        },
                        "priority": {"type": "string", "enum": list(PRIORITIES)},
                        "consultant_directed": {"type": "boolean", "default": False},
                    },
                }
            }
        },
    }


def _clinical_paths() -> dict[str, Any]:
    problem = {"content": {"application/problem+json": {"schema": PROBLEM}}}
    paths: dict[str, Any] = {}
    for method, path, summary, ok in CLINICAL_ROUTES:
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in ("stay_id", "referral_id", "result_id", "patient_id", "code", "bed")
            if "{" + name + "}" in path
        ]
        paths.setdefault(path, {})[method] = {
            "summary": summary,
            "description": "Acting clinician: the signed-on member of staff (session cookie; "
            "writes carry X-CSRFToken).",
            "parameters": params,
            "responses": {
                ok: {"description": "done"},
                "401": {"description": "nobody signed in", **problem},
                "403": {"description": "the signed-in role may not do this", **problem},
                "404": {"description": "no such stay, referral, result or patient", **problem},
                "409": {"description": "refused by a clinical rule (see rule)", **problem},
                "422": {"description": "bad input", **problem},
            },
        }
        if path.endswith("/orders"):
            paths[path][method]["requestBody"] = _order_body()
    return paths


def _get(summary: str, *params: str, missing: str = "") -> dict[str, Any]:
    responses: dict[str, Any] = {"200": {"description": summary}}
    if missing:
        responses["404"] = {
            "description": missing,
            "content": {"application/problem+json": {"schema": PROBLEM}},
        }
    return {
        "get": {
            "summary": summary,
            "parameters": [
                {
                    "name": p,
                    "in": "path" if p == "id" else "query",
                    "required": p == "id",
                    "schema": {"type": "integer" if p in ("id", "limit") else "string"},
                }
                for p in params
            ],
            "responses": responses,
        }
    }


HL7_PATHS: dict[str, Any] = {
    "/api/v1/hl7/messages": _get(
        "Search the HL7 journal, newest first",
        "sender",
        "type",
        "control_id",
        "state",
        "patient",
        "since",
        "until",
        "limit",
    ),
    "/api/v1/hl7/messages/{id}": _get(
        "One journalled message: raw, parsed segments and the ACK sent",
        "id",
        missing="no such journal entry",
    ),
    "/api/v1/hl7/errors": _get("The error queue: failed (AE) and rejected (AR) messages"),
    "/api/v1/hl7/outbound": _get("The outbound queue (pending, sent, failed)", "state"),
    "/api/v1/hl7/orders": _get("Orders and their status, newest first", "status"),
    "/api/v1/hl7/results": _get("Results, newest first (unmatched=1: unknown order)", "unmatched"),
    "/api/v1/hl7/replay": {
        "post": {
            "summary": 'Apply journal entries again: body {"ids": [1, 2]}',
            "responses": {
                "200": {"description": "the outcome per entry"},
                "400": {
                    "description": "bad body",
                    "content": {"application/problem+json": {"schema": PROBLEM}},
                },
                "404": {
                    "description": "unknown id",
                    "content": {"application/problem+json": {"schema": PROBLEM}},
                },
            },
        }
    },
}


def openapi_document() -> dict[str, Any]:
    from mpi.web.openapi import mpi_paths

    doc = _document()
    doc["paths"].update(_clinical_paths())
    doc["paths"].update(mpi_paths())
    doc["paths"].update(_gp_paths())
    doc["paths"].update(_allocation_paths())
    return doc


def _allocation_paths() -> dict[str, Any]:
    """Nurse allocation (whiteboard/web/allocation.py, docs/CLINICAL_ACTIONS.md)."""
    problem = {"content": _problem()}
    codes = {"type": "array", "items": {"type": "string"}}
    shift_params = [
        {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}},
        {"name": "date", "in": "query", "required": False, "schema": {"type": "string"}},
        {
            "name": "shift",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": ["day", "night"]},
        },
    ]
    refusals = {
        "401": {"description": "nobody signed on", **problem},
        "403": {"description": "the signed-on role may not allocate nurses", **problem},
        "404": {"description": "no such ward", **problem},
        "422": {
            "description": "bad input; the detail names the field, nurse, bay or bed",
            **problem,
        },
    }
    body = {
        "type": "object",
        "required": ["nurses"],
        "additionalProperties": False,
        "properties": {
            "date": {"type": "string", "format": "date", "description": "with shift; neither: now"},
            "shift": {"type": "string", "enum": ["day", "night"]},
            "nurse_in_charge": {"type": "string", "description": "a nurse's username"},
            "nurses": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["nurse"],
                    "additionalProperties": False,
                    "properties": {
                        "nurse": {"type": "string", "description": "a nurse's username"},
                        "bays": codes,
                        "beds": codes,
                    },
                },
            },
        },
    }
    return {
        "/api/v1/wards/{code}/nurse-allocation": {
            "get": {
                "summary": "A ward's nurse allocation for a shift (default: the current one)",
                "parameters": shift_params,
                "responses": {"200": {"description": "the allocation"}, **refusals},
            },
            "put": {
                "summary": "Set or replace a shift's whole nurse allocation (nurse in charge, "
                "ward manager); audited",
                "description": "Writes carry X-CSRFToken. A bed's own nurse wins over its bay's.",
                "parameters": shift_params[:1],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": body}},
                },
                "responses": {"200": {"description": "{id, ward, date, shift, ...}"}, **refusals},
            },
        }
    }


def _gp_paths() -> dict[str, Any]:
    """The GP record synopsis, sharing authorisations and the GP portal (docs/GP_SYNOPSIS.md)."""
    problem = {"content": _problem()}

    def post(summary: str, ok: str, **codes: str) -> dict[str, Any]:
        responses: dict[str, Any] = {ok: {"description": "done"}}
        responses.update({c: {"description": d, **problem} for c, d in codes.items()})
        return {"post": {"summary": summary, "responses": responses}}

    return {
        "/api/v1/gp/synopsis": post(
            "A GP sends their practice's synopsis for one registered patient (JSON body)",
            "201",
            **{
                "403": "not a GP, or another practice's name",
                "404": "no such patient registered with your practice",
                "422": "bad input; the detail names the field",
            },
        ),
        "/api/v1/gp/episodes": _get("A GP's own registered patients' hospital episodes"),
        "/api/v1/patients/{patient_id}/gp-synopsis": _get(
            "The GP record panel: the synopsis if the patient's practice shares it (audited)",
            (("patient_id", "path", "integer"),),
        ),
        "/api/v1/admin/gp-sharing": {
            **_get("Every practice sharing authorisation, newest first"),
            **post(
                'Record a practice\'s authorisation: {"practice", "authorised_by", "note"}',
                "201",
                **{"409": "the practice already shares", "422": "bad input"},
            ),
        },
        "/api/v1/admin/gp-sharing/{practice}/revoke": post(
            "Revoke a practice's authorisation (its synopses are hidden at once)",
            "200",
            **{"409": "the practice does not share"},
        ),
    }


def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Wardboard API",
            "version": "1",
            "description": "Ward boards and the hospital record. Errors are problem+json.",
        },
        "paths": {
            "/api/v1/wards": {
                "get": {
                    "summary": "Every ward with its bed counts",
                    "responses": {"200": {"description": "the wards"}},
                }
            },
            "/api/v1/wards/{code}/board": {
                "get": {
                    "summary": "A ward's board snapshot (the same JSON the board's socket pushes)",
                    "parameters": [
                        {
                            "name": "code",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {"description": "the snapshot; see docs/BOARD_UI.md"},
                        "404": {
                            "description": "no such ward",
                            "content": {"application/problem+json": {"schema": PROBLEM}},
                        },
                    },
                }
            },
            "/api/v1/admin/jobs": {
                "get": {
                    "summary": "Scheduled jobs with last and next run, and the scheduler lease",
                    "description": "Needs an administrator once sign-on is in place.",
                    "responses": {"200": {"description": "leader and jobs; see docs/REPORTS.md"}},
                }
            },
            **_security_paths(),
            **HL7_PATHS,
            "/healthz": {
                "get": {
                    "summary": "Database, MLLP listener and scheduler status",
                    "responses": {
                        "200": {"description": "all up"},
                        "503": {"description": "something is down"},
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Problem": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                    },
                }
            }
        },
    }


def _get(summary: str, params: tuple[tuple[str, str, str], ...] = ()) -> dict[str, Any]:
    """A GET that needs sign-on (see docs/SECURITY.md for which roles)."""
    return {
        "get": {
            "summary": summary,
            "parameters": [
                {"name": n, "in": where, "required": where == "path", "schema": {"type": t}}
                for n, where, t in params
            ],
            "responses": {
                "200": {"description": "OK"},
                "401": {"description": "not signed on", "content": _problem()},
                "403": {"description": "your role may not", "content": _problem()},
                "404": {"description": "not found (or not yours)", "content": _problem()},
            },
        }
    }


def _problem() -> dict[str, Any]:
    return {"application/problem+json": {"schema": PROBLEM}}


def _security_paths() -> dict[str, Any]:
    return {
        "/api/v1/patients": _get(
            "Search patients by surname or NHS number (GPs: own practice)",
            (("q", "query", "string"),),
        ),
        "/api/v1/patients/{patient_id}": _get(
            "One patient's record (audited; GPs: own practice only)",
            (("patient_id", "path", "integer"),),
        ),
        "/api/v1/audit": _get(
            "Audit log search (managers)",
            (("patient", "query", "integer"), ("staff", "query", "string")),
        ),
        "/api/v1/audit/verify": _get("Recompute the audit log's hash chain"),
        "/api/v1/card-reader": {
            "post": {
                "summary": "Card-reader agent: card inserted (sign on) or removed (blank screens)",
                "description": "Authorization: Workstation <name>:<secret>. Body: "
                "{event: inserted|removed, card, pin}",
                "responses": {
                    "200": {"description": "removed: {ended: n}"},
                    "201": {"description": "inserted: {signon_url}"},
                    "400": {"description": "bad body", "content": _problem()},
                    "401": {"description": "bad secret, card or PIN", "content": _problem()},
                    "429": {"description": "too many attempts", "content": _problem()},
                },
            }
        },
    }
