"""OpenAPI paths of /api/v1/mpi/ (merged into the app's document)."""

from __future__ import annotations

from typing import Any

_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _op(summary: str, *codes: str, body: bool = False) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": {"description": "done"}}
    for code in codes:
        responses[code] = {"description": "problem", "content": _PROBLEM}
    op: dict[str, Any] = {"summary": summary, "tags": ["mpi (records-clerk role)"]}
    if body:
        op["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
    op["responses"] = responses
    return op


def mpi_paths() -> dict[str, Any]:
    base = "/api/v1/mpi"
    return {
        f"{base}/review": {
            "get": _op("Clerks' queue, highest risk first (?state=open|deferred|not_duplicate)")
        },
        f"{base}/review/{{pair_id}}": {
            "get": _op("One candidate pair with its explanation", "404")
        },
        f"{base}/review/{{pair_id}}/merge": {
            "post": _op(
                "Merge the pair: {survivor_id, take_from_merged: [fields]}",
                "400",
                "404",
                "409",
                body=True,
            )
        },
        f"{base}/review/{{pair_id}}/not-duplicate": {
            "post": _op("Not the same person: remembered, never asked again", "400", "404")
        },
        f"{base}/review/{{pair_id}}/defer": {"post": _op("Put the pair behind the others", "404")},
        f"{base}/merges": {
            "get": _op("Merge records (?patient_id=)"),
            "post": _op(
                "Merge any two patients: {survivor_id, merged_id}", "400", "409", body=True
            ),
        },
        f"{base}/merges/{{merge_id}}/unmerge": {
            "post": _op("Undo a merge, restoring both records exactly", "404", "409")
        },
        f"{base}/identifiers/{{identifier_id}}/unlink": {
            "post": _op(
                "Undo a wrong automatic link: {stay_ids} move with the identifier to a new patient",
                "400",
                "404",
                "409",
                body=True,
            )
        },
        f"{base}/patients/{{patient_id}}": {
            "get": _op("A patient by id; a merged-away id redirects to its survivor", "404")
        },
        f"{base}/search": {
            "get": _op(
                "Registration look-up: ?family_name&given_names&date_of_birth&sex&postcode"
                "&nhs_number -> scored candidates",
                "400",
            )
        },
        f"{base}/sweep/report": {"get": _op("24-hour A&E sweep: waits for first re-check")},
        f"{base}/gp-feed/runs": {"get": _op("Stored GP feed import summaries")},
    }
