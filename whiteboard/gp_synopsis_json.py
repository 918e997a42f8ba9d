"""The documented JSON form of a GP synopsis (docs/GP_SYNOPSIS.md), read strictly.

Used by ``POST /api/v1/gp/synopsis`` and ``run.py gp synopsis import``. Every field is checked
before any command is built, and an unknown key is an error (a misspelt "allergys" must not
silently become "no allergies"). Errors name the field by its path, e.g.
``allergies[2].severity``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from mpi.nhs_number import InvalidNhsNumber
from mpi.nhs_number import validate as validate_nhs
from whiteboard.gp_commands import (
    SEVERITIES,
    Allergy,
    Medication,
    RecordGpSynopsis,
    SignificantEvent,
    SynopsisContent,
)

TOP_KEYS = {"practice", "nhs_number", "as_of", "medications", "allergies", "significant_events"}
MAX_ITEMS = 500


class BadSynopsis(ValueError):
    """The document is not a valid synopsis; the message names the field."""


def _obj(value: Any, where: str, keys: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadSynopsis(f"{where or 'the synopsis'} must be a JSON object")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise BadSynopsis(f"{where + '.' if where else ''}{unknown[0]} is not a synopsis field")
    for key in sorted(required):
        if value.get(key) is None:
            raise BadSynopsis(f"{where + '.' if where else ''}{key} is required")
    return value


def _text(value: Any, where: str, limit: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadSynopsis(f"{where} must be a non-empty string")
    value = value.strip()
    if len(value) > limit or "\x00" in value:
        raise BadSynopsis(f"{where} must be at most {limit} characters of text")
    return value


def _date(value: Any, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise BadSynopsis(f"{where} must be a date YYYY-MM-DD")


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    if not isinstance(value, list):
        raise BadSynopsis(f"{key} must be a list (an empty list when there are none)")
    if len(value) > MAX_ITEMS:
        raise BadSynopsis(f"{key} has more than {MAX_ITEMS} entries")
    return value


def parse_synopsis(doc: Any, *, practice: str | None = None, source: str) -> RecordGpSynopsis:
    """The command for one synopsis document.

    ``practice`` is the caller's own practice (a signed-on GP): the document's ``practice`` may
    then be left out, and must match if given. Without it (a file import) it is required.
    """
    required = {"nhs_number", "as_of", "medications", "allergies", "significant_events"}
    d = _obj(doc, "", TOP_KEYS, required if practice else required | {"practice"})
    given = d.get("practice")
    if given is not None:
        given = _text(given, "practice", 12).upper()
        if practice is not None and given != practice.upper():
            raise PracticeMismatch(f"you may only share for your own practice ({practice})")
    code = (given or practice or "").upper()
    if not isinstance(d["nhs_number"], str):
        raise BadSynopsis("nhs_number must be a string of 10 digits")
    try:
        nhs = validate_nhs(d["nhs_number"])
    except InvalidNhsNumber as exc:
        raise BadSynopsis(f"nhs_number: {exc}") from None
    try:
        as_of = datetime.fromisoformat(d["as_of"]) if isinstance(d["as_of"], str) else None
    except ValueError:
        as_of = None
    if as_of is None or as_of.tzinfo is None:
        raise BadSynopsis("as_of must be an ISO 8601 date-time with a UTC offset")
    medications = []
    for i, m in enumerate(_list(d, "medications")):
        w = f"medications[{i}]"
        m = _obj(m, w, {"name", "dose", "started"}, {"name"})
        medications.append(
            Medication(
                name=_text(m["name"], f"{w}.name", 200),
                dose=_text(m.get("dose"), f"{w}.dose", 200, required=False),
                started=_date(m.get("started"), f"{w}.started"),
            )
        )
    allergies = []
    for i, a in enumerate(_list(d, "allergies")):
        w = f"allergies[{i}]"
        a = _obj(a, w, {"substance", "reaction", "severity"}, {"substance"})
        severity = a.get("severity") or "unknown"
        if severity not in SEVERITIES:
            raise BadSynopsis(f"{w}.severity must be one of {', '.join(SEVERITIES)}")
        allergies.append(
            Allergy(
                substance=_text(a["substance"], f"{w}.substance", 200),
                reaction=_text(a.get("reaction"), f"{w}.reaction", 200, required=False),
                severity=severity,
            )
        )
    events = []
    for i, e in enumerate(_list(d, "significant_events")):
        w = f"significant_events[{i}]"
        e = _obj(e, w, {"date", "description"}, {"description"})
        events.append(
            SignificantEvent(
                description=_text(e["description"], f"{w}.description", 2000),
                event_date=_date(e.get("date"), f"{w}.date"),
            )
        )
    return RecordGpSynopsis(
        as_of,
        practice=code,
        content=SynopsisContent(tuple(medications), tuple(allergies), tuple(events)),
        nhs_number=nhs,
        source=source,
    )


class PracticeMismatch(BadSynopsis):
    """A GP sending a synopsis in another practice's name (403, not 422)."""
