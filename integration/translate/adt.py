"""ADT messages (admit, transfer, discharge, bed swap, leave and their cancellations) to commands.

Fields read: PID-3 identifiers (NHS number by type NH or authority NHS, or a 10-digit PID-2 from
older senders), PID-5 name, PID-7 birth date, PID-8 sex, PID-11 address, PD1-3 GP practice,
PV1-2 class, PV1-3 location (ward^bay^bed), PV1-6 prior location, PV1-7 attending doctor,
PV1-19 visit number, PV1-44/45 admit and discharge times, EVN-2/EVN-6 event times.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from integration.hl7.datatypes import parse_date, parse_dtm
from integration.hl7.header import Header
from integration.hl7.reader import MessageReader
from whiteboard import commands as cmds

SEX = {"M": "M", "F": "F", "U": "U", "O": "U", "A": "U", "N": "U"}


class TranslationError(ValueError):
    """The message lacks something the command needs; carries the HL7 location."""

    def __init__(self, message: str, location: str = "", code: str = "101") -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.code = code


def patient_details(msg: MessageReader, sending_facility: str) -> cmds.PatientDetails:
    identifiers: list[cmds.Identifier] = []
    nhs_number: str | None = None
    for rep in range(1, msg.repetitions("PID", 3) + 1):
        value = msg.get("PID", 3, rep, 1)
        if not value:
            continue
        authority = msg.get("PID", 3, rep, 4) or sending_facility
        id_type = msg.get("PID", 3, rep, 5).upper()
        if id_type == "NH" or authority.upper() == "NHS":
            nhs_number = value.replace(" ", "")
            continue
        identifiers.append(cmds.Identifier(value=value, authority=authority, id_type=id_type))
    legacy = msg.get("PID", 2).replace(" ", "")
    if nhs_number is None and len(legacy) == 10 and legacy.isdigit():
        nhs_number = legacy
    if not identifiers and not nhs_number:
        raise TranslationError("PID-3 has no patient identifier", "PID^1^3")
    given = " ".join(p for p in (msg.get("PID", 5, 1, 2), msg.get("PID", 5, 1, 3)) if p)
    address_parts = [msg.get("PID", 11, 1, c) for c in (1, 2, 3, 4)]
    try:
        dob = parse_date(msg.get("PID", 7))
    except ValueError as exc:
        raise TranslationError(str(exc), "PID^1^7", "102") from None
    return cmds.PatientDetails(
        identifiers=tuple(identifiers),
        nhs_number=nhs_number,
        family_name=msg.get("PID", 5, 1, 1),
        given_names=given,
        title=msg.get("PID", 5, 1, 5) or None,
        date_of_birth=dob,
        sex=SEX.get(msg.get("PID", 8).upper()[:1]),
        address=", ".join(p for p in address_parts if p) or None,
        postcode=msg.get("PID", 11, 1, 5).upper() or None,
        gp_practice_code=msg.get("PD1", 3, 1, 3) or msg.get("PD1", 3, 1, 10) or None,
    )


def _location(msg: MessageReader, field: int) -> cmds.Location | None:
    ward = msg.get("PV1", field, 1, 1)
    if not ward:
        return None
    return cmds.Location(
        ward=ward,
        bay=msg.get("PV1", field, 1, 2) or None,
        bed=msg.get("PV1", field, 1, 3) or None,
    )


def visit_details(msg: MessageReader, tz: ZoneInfo) -> cmds.VisitDetails:
    clinician = None
    code = msg.get("PV1", 7, 1, 1)
    if code:
        clinician = cmds.ClinicianRef(
            code=code,
            family_name=msg.get("PV1", 7, 1, 2),
            given_names=msg.get("PV1", 7, 1, 3),
            prefix=msg.get("PV1", 7, 1, 6),
        )
    return cmds.VisitDetails(
        patient_class=(msg.get("PV1", 2) or "I").upper()[:1],
        location=_location(msg, 3),
        prior_location=_location(msg, 6),
        visit_number=msg.get("PV1", 19) or None,
        clinician=clinician,
        admitted_at=_time(msg, "PV1", 44, tz),
        discharged_at=_time(msg, "PV1", 45, tz),
    )


def _time(msg: MessageReader, segment: str, field: int, tz: ZoneInfo) -> datetime | None:
    try:
        return parse_dtm(msg.get(segment, field), tz)
    except ValueError as exc:
        raise TranslationError(str(exc), f"{segment}^1^{field}", "102") from None


def event_time(msg: MessageReader, header: Header, tz: ZoneInfo, received: datetime) -> datetime:
    """When it happened: EVN-6, else EVN-2, else MSH-7, else when we received it."""
    for segment, field in (("EVN", 6), ("EVN", 2)):
        moment = _time(msg, segment, field, tz)
        if moment is not None:
            return moment
    try:
        return parse_dtm(header.timestamp, tz) or received
    except ValueError:
        return received


def _needs_visit(msg: MessageReader, tz: ZoneInfo) -> cmds.VisitDetails:
    if not msg.has("PV1"):
        raise TranslationError("the message has no PV1 segment", "PV1", "100")
    return visit_details(msg, tz)


Builder = Callable[[datetime, cmds.PatientDetails, MessageReader, ZoneInfo, str], cmds.Command]


def _with_visit(command: type) -> Builder:
    def build(
        at: datetime, patient: cmds.PatientDetails, msg: MessageReader, tz: ZoneInfo, source: str
    ) -> cmds.Command:
        return command(at, patient, _needs_visit(msg, tz), source=source)

    return build


def _update(
    at: datetime, patient: cmds.PatientDetails, msg: MessageReader, tz: ZoneInfo, source: str
) -> cmds.Command:
    visit = visit_details(msg, tz) if msg.has("PV1") else None
    return cmds.UpdatePatientInformation(at, patient, visit, source=source)


def _person(
    at: datetime, patient: cmds.PatientDetails, msg: MessageReader, tz: ZoneInfo, source: str
) -> cmds.Command:
    """A28/A31 add/update person (GP systems): demographics only; their PV1 is a stub."""
    return cmds.UpdatePatientInformation(at, patient, None, source=source)


def _merge(
    at: datetime, patient: cmds.PatientDetails, msg: MessageReader, tz: ZoneInfo, source: str
) -> cmds.Command:
    """A40/A34: MRG-1 the prior patient identifier (authority MRG-1.4, default the sender)."""
    value = msg.get("MRG", 1, 1, 1)
    if not value:
        raise TranslationError("MRG-1 prior patient identifier is missing", "MRG^1^1")
    default_authority = next((i.authority for i in patient.identifiers), "")
    prior = cmds.Identifier(
        value=value,
        authority=msg.get("MRG", 1, 1, 4) or default_authority,
        id_type=msg.get("MRG", 1, 1, 5).upper(),
    )
    return cmds.MergePatient(at, patient, prior, source=source)


def _swap(
    at: datetime,
    patient: cmds.PatientDetails,
    msg: MessageReader,
    tz: ZoneInfo,
    source: str,
    facility: str,
) -> cmds.Command:
    """A17 swap beds: two PID/PV1 groups, one per patient (PV1 required in each)."""
    pairs = msg.groups("PID")
    if len(pairs) != 2:
        raise TranslationError(
            f"A17 needs two PID/PV1 groups (one per patient); the message has {len(pairs)}",
            "PID",
            "100",
        )
    second = pairs[1]
    try:
        other = patient_details(second, facility)
    except TranslationError as exc:
        raise TranslationError(exc.message, exc.location.replace("^1^", "^2^"), exc.code) from None
    if not pairs[0].has("PV1") or not second.has("PV1"):
        raise TranslationError("A17 needs a PV1 segment after each PID", "PV1", "100")
    return cmds.SwapBeds(
        at, patient, visit_details(pairs[0], tz), other, visit_details(second, tz), source=source
    )


def _leave(command: type, **flags: bool) -> Builder:
    def build(
        at: datetime, patient: cmds.PatientDetails, msg: MessageReader, tz: ZoneInfo, source: str
    ) -> cmds.Command:
        return command(at, patient, _needs_visit(msg, tz), source=source, **flags)

    return build


BUILDERS: dict[str, Builder] = {
    "A01": _with_visit(cmds.AdmitPatient),
    "A02": _with_visit(cmds.TransferPatient),
    "A03": _with_visit(cmds.DischargePatient),
    "A04": _with_visit(cmds.RegisterPatient),
    "A08": _update,
    "A11": _with_visit(cmds.CancelAdmission),
    "A12": _with_visit(cmds.CancelTransfer),
    "A13": _with_visit(cmds.CancelDischarge),
    "A21": _leave(cmds.StartLeave),
    "A22": _leave(cmds.EndLeave),
    "A52": _leave(cmds.EndLeave, cancel=True),  # cancel leave of absence
    "A53": _leave(cmds.StartLeave, resume=True),  # cancel "patient returns from leave"
    "A05": _person,  # pre-admission: we record the person; the stay starts with A01/A06
    "A06": _with_visit(cmds.AdmitPatient),  # outpatient/A&E attendance becomes an admission
    "A28": _person,
    "A31": _person,
    "A34": _merge,
    "A40": _merge,
}
TRIGGERS = (*BUILDERS, "A17", "A20")


def _bed_status(
    msg: MessageReader, header: Header, tz: ZoneInfo, received: datetime, source: str
) -> cmds.Command:
    """A20 bed status update: NPU-1 the bed (ward^bay^bed), NPU-2 its HL7 0116 state."""
    ward, bed = msg.get("NPU", 1, 1, 1), msg.get("NPU", 1, 1, 3)
    if not ward or not bed:
        raise TranslationError("NPU-1 must name a ward and a bed", "NPU^1^1")
    status = msg.get("NPU", 2).upper()
    if status not in {"C", "H", "I", "K", "O", "U"}:
        raise TranslationError(
            f"NPU-2 bed status {status!r} is not in HL7 table 0116", "NPU^1^2", "103"
        )
    location = cmds.Location(ward, msg.get("NPU", 1, 1, 2) or None, bed)
    return cmds.SetBedStatus(event_time(msg, header, tz, received), location, status, source=source)


def translate_adt(
    msg: MessageReader, header: Header, tz: ZoneInfo, received: datetime, source: str
) -> cmds.Command:
    if header.trigger_event == "A20":
        return _bed_status(msg, header, tz, received, source)
    if not msg.has("PID"):
        raise TranslationError("the message has no PID segment", "PID", "100")
    patient = patient_details(msg, header.sending_facility)
    at = event_time(msg, header, tz, received)
    if header.trigger_event == "A17":
        return _swap(at, patient, msg, tz, source, header.sending_facility)
    return BUILDERS[header.trigger_event](at, patient, msg, tz, source)
