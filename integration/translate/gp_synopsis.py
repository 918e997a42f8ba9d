"""A GP practice's record synopsis over HL7 v2.5.1: ADT^A31 (ADT_A05) with clinical segments.

GP systems already send us ADT^A31 "update person information" for demographics; a practice
(or the integration engine in front of it) shares its synopsis by adding to that message the
segments ADT_A05 defines for clinical content, so a strict v2.5.1 validator accepts it:

- AL1 allergies: AL1-3 allergen (code^text^system; the text is stored, else the code),
  AL1-4 severity (HL7 table 0128: SV severe, MO moderate, MI mild, U or empty unknown),
  AL1-5 reaction (repeats are joined with "; "). AL1-3 code ``NKA`` or SNOMED ``716186003``
  ("no known allergy") says there are none, so a synopsis can have an empty allergy list.
- DG1 / PR1 significant events: DG1-3 diagnosis (text, else DG1-4 description, else the code),
  DG1-5 its date; PR1-3 procedure (text, else PR1-4, else the code), PR1-5 its date.
- OBX medications: OBX-3 ``10160-0^History of medication use^LN``, OBX-5 the medicine
  (code^name^system; the name is stored), OBX-14 the date it was started. Its dose travels in
  a second OBX with the same OBX-4 sub-id and OBX-3 ``DOSE`` (local code), OBX-5 the dose as
  text (e.g. "5 mg once a day").

Also read: PID/PD1 as for any A31 (the person is updated exactly as a plain A31 would update
them), PD1-3 the practice (component 10, the ODS code, else component 3): required, and the
patient must be registered with it; EVN-2 (else MSH-7) when the practice took the summary.

An A31 with none of AL1, DG1, PR1 or a 10160-0 OBX is a plain demographics update, as before.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from integration.hl7.datatypes import BadTimestamp, parse_date
from integration.hl7.header import Header
from integration.hl7.reader import MessageReader
from integration.translate.adt import (
    TranslationError,
    event_time,
    patient_details,
    translate_adt,
)
from whiteboard import commands as cmds
from whiteboard.gp_commands import (
    Allergy,
    Medication,
    RecordGpSynopsis,
    SignificantEvent,
    SynopsisContent,
)

MEDICATION_CODE = "10160-0"
DOSE_CODE = "DOSE"
NO_KNOWN_ALLERGY = {"NKA", "716186003"}
SEVERITY = {"SV": "severe", "MO": "moderate", "MI": "mild", "U": "unknown", "": "unknown"}
MAX_REPEATS = 20


def carries_synopsis(msg: MessageReader) -> bool:
    if msg.has("AL1") or msg.has("DG1") or msg.has("PR1"):
        return True
    return any(
        msg.get_nth("OBX", n, 3).upper() == MEDICATION_CODE for n in range(1, msg.count("OBX") + 1)
    )


def _date(value: str, location: str) -> date | None:
    """An HL7 date or date/time; a year (YYYY) or month (YYYYMM) means its first day."""
    value = value.strip()
    if len(value) in (4, 6) and value.isdigit():
        value = value + "0101"[len(value) - 4 :]
    try:
        return parse_date(value)
    except BadTimestamp as exc:
        raise TranslationError(str(exc), location, "102") from None


def _allergies(msg: MessageReader) -> tuple[Allergy, ...]:
    out = []
    for n in range(1, msg.count("AL1") + 1):
        code = msg.get_nth("AL1", n, 3, 1, 1)
        if code.upper() in NO_KNOWN_ALLERGY:
            continue
        substance = msg.get_nth("AL1", n, 3, 1, 2) or code
        if not substance:
            raise TranslationError("AL1-3 allergen is empty", f"AL1^{n}^3", "101")
        severity_code = msg.get_nth("AL1", n, 4, 1, 1).upper()
        if severity_code not in SEVERITY:
            raise TranslationError(
                f"AL1-4 severity {severity_code!r} is not SV, MO, MI or U (HL7 table 0128)",
                f"AL1^{n}^4",
                "103",
            )
        reactions = [msg.get_nth("AL1", n, 5, rep) for rep in range(1, MAX_REPEATS + 1)]
        out.append(
            Allergy(
                substance=substance[:200],
                reaction="; ".join(r for r in reactions if r)[:200],
                severity=SEVERITY[severity_code],
            )
        )
    return tuple(out)


def _events(msg: MessageReader) -> tuple[SignificantEvent, ...]:
    out = []
    for segment in ("DG1", "PR1"):
        for n in range(1, msg.count(segment) + 1):
            text = (
                msg.get_nth(segment, n, 3, 1, 2)
                or msg.get_nth(segment, n, 4)
                or msg.get_nth(segment, n, 3, 1, 1)
            )
            if not text:
                raise TranslationError(
                    f"{segment}-3 names no diagnosis or procedure", f"{segment}^{n}^3", "101"
                )
            when = _date(msg.get_nth(segment, n, 5), f"{segment}^{n}^5")
            out.append(SignificantEvent(description=text, event_date=when))
    return tuple(out)


def _medications(msg: MessageReader) -> tuple[Medication, ...]:
    doses: dict[str, str] = {}
    medicines: list[tuple[int, str, str, date | None]] = []
    for n in range(1, msg.count("OBX") + 1):
        what = msg.get_nth("OBX", n, 3).upper()
        sub_id = msg.get_nth("OBX", n, 4)
        if what == DOSE_CODE:
            doses[sub_id] = msg.get_nth("OBX", n, 5)
        elif what == MEDICATION_CODE:
            name = msg.get_nth("OBX", n, 5, 1, 2) or msg.get_nth("OBX", n, 5, 1, 1)
            if not name:
                raise TranslationError("OBX-5 names no medicine", f"OBX^{n}^5", "101")
            started = _date(msg.get_nth("OBX", n, 14), f"OBX^{n}^14")
            medicines.append((n, sub_id, name, started))
    return tuple(
        Medication(name=name[:200], dose=doses.get(sub_id, "")[:200] if sub_id else "", started=s)
        for _n, sub_id, name, s in medicines
    )


def translate_a31(
    msg: MessageReader, header: Header, tz: ZoneInfo, received: datetime, source: str
) -> cmds.Command:
    """ADT^A31: a synopsis when it carries clinical segments, else the plain person update."""
    if not carries_synopsis(msg):
        return translate_adt(msg, header, tz, received, source)
    if not msg.has("PID"):
        raise TranslationError("the message has no PID segment", "PID", "100")
    patient = patient_details(msg, header.sending_facility)
    if not patient.gp_practice_code:
        raise TranslationError(
            "PD1-3 must name the GP practice sharing the synopsis", "PD1^1^3", "101"
        )
    content = SynopsisContent(
        medications=_medications(msg), allergies=_allergies(msg), events=_events(msg)
    )
    return RecordGpSynopsis(
        event_time(msg, header, tz, received),
        practice=patient.gp_practice_code,
        content=content,
        patient=patient,
        source=source,
    )
