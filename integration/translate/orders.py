"""Orders (ORM^O01, OML^O21) and results (ORU^R01) to commands.

Fields read: PID as for ADT; ORC-1 order control (NW new, CA cancel, SC status changed),
ORC-2/OBR-2 placer order number, ORC-3/OBR-3 filler order number, ORC-5 order status,
ORC-12 ordering provider (else OBR-16; its ID: a consultant in the layout makes the order
consultant-directed), ORC-21 ordering facility (its ID, component 10, else component 1: the
practice's ODS code), else PD1-3; OBR-4 service (code^text), OBR-7 observation time, OBR-22
report time, OBR-25 result status (P preliminary, F final, C corrected); OBX-3 observation,
OBX-5 value, OBX-6 units, OBX-7 reference range, OBX-8 flags. One ORC/OBR per message.

For the result alerts: the kind and modality come from OBR-24 diagnostic service section (HL7
table 0074: RAD, RX, CT, MR, US ... are imaging) or else from the OBR-4 service code's prefix
(XR, CT, MR, US ...); the priority from TQ1-9, else ORC-7.6, else OBR-27.6 (table 0027: S stat
is critical; A ASAP and T timing critical are urgent; anything else routine); a result's
urgency from the worst OBX-8 flag (HH, LL, AA, <, > critical; H, L, A abnormal).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from integration.hl7.datatypes import parse_dtm
from integration.hl7.header import Header
from integration.hl7.reader import MessageReader
from integration.translate.adt import TranslationError, event_time, patient_details
from whiteboard import commands as cmds

ORDER_CONTROLS = {"NW", "CA", "SC", "OC"}
REPORT_STATUSES = {"P", "F", "C"}

# OBR-24 (table 0074) sections that are imaging, with the modality each means.
IMAGING_SECTIONS = {
    "RAD": None,
    "IMG": None,
    "RX": "XR",
    "XR": "XR",
    "XRC": "XR",
    "CR": "XR",
    "DX": "XR",
    "CT": "CT",
    "MR": "MR",
    "NMR": "MR",
    "US": "US",
    "VUS": "US",
    "OUS": "US",
    "CUS": "US",
    "NMS": "NM",
    "NM": "NM",
    "MG": "MG",
}
# OBR-4 service code prefixes that mean imaging when OBR-24 is empty (longest first).
IMAGING_PREFIXES = ("MRI", "XR", "CT", "MR", "US", "NM", "MG")
PRIORITIES = {"S": "critical", "A": "urgent", "T": "urgent"}  # table 0027; else routine
CRITICAL_FLAGS = {"HH", "LL", "AA", "<", ">"}  # table 0078 panic / off-scale
ABNORMAL_FLAGS = {"H", "L", "A"}


def order_kind(section: str, service_code: str) -> tuple[str, str | None]:
    """(kind, modality): imaging when OBR-24 or the service code's prefix says so."""
    section = section.strip().upper()
    code = service_code.strip().upper()
    prefix = next((p for p in IMAGING_PREFIXES if code.startswith(p)), None)
    from_prefix = "MR" if prefix == "MRI" else prefix
    if section in IMAGING_SECTIONS:
        return "imaging", IMAGING_SECTIONS[section] or from_prefix
    if section:
        return "lab", None
    if prefix is not None:
        return "imaging", from_prefix
    return "lab", None


def order_priority(*codes: str) -> str:
    """The first priority code given, as critical/urgent/routine."""
    for code in codes:
        code = code.strip().upper()
        if code:
            return PRIORITIES.get(code, "routine")
    return "routine"


def result_urgency(flags: list[str]) -> str:
    """The worst OBX-8 abnormal flag of a report: critical, abnormal or routine."""
    flags = [f.strip().upper() for f in flags]
    if any(f in CRITICAL_FLAGS for f in flags):
        return "critical"
    if any(f in ABNORMAL_FLAGS for f in flags):
        return "abnormal"
    return "routine"


def _order_details(msg: MessageReader, header: Header) -> cmds.OrderDetails:
    placer = msg.get("ORC", 2) or msg.get("OBR", 2)
    filler = msg.get("ORC", 3) or msg.get("OBR", 3)
    if not placer and not filler:
        raise TranslationError("no placer or filler order number (ORC-2/3, OBR-2/3)", "OBR^1^2")
    practice = msg.get("ORC", 21, 1, 10) or msg.get("ORC", 21, 1, 1)
    practice = practice or msg.get("PD1", 3, 1, 3) or msg.get("PD1", 3, 1, 10)
    service_code = msg.get("OBR", 4, 1, 1)
    kind, modality = order_kind(msg.get("OBR", 24), service_code)
    return cmds.OrderDetails(
        placer_system=header.sender,
        placer_order_number=placer,
        filler_order_number=filler or None,
        service_code=service_code,
        service_text=msg.get("OBR", 4, 1, 2),
        ordering_practice=practice or None,
        kind=kind,
        modality=modality,
        priority=order_priority(
            msg.get("TQ1", 9), msg.get("ORC", 7, 1, 6), msg.get("OBR", 27, 1, 6)
        ),
        ordered_by=(msg.get("ORC", 12, 1, 1) or msg.get("OBR", 16, 1, 1) or None),
    )


def _patient(msg: MessageReader, header: Header) -> cmds.PatientDetails:
    if not msg.has("PID"):
        raise TranslationError("the message has no PID segment", "PID", "100")
    return patient_details(msg, header.sending_facility)


def translate_order(
    msg: MessageReader, header: Header, tz: ZoneInfo, received: datetime, source: str
) -> cmds.Command:
    control = msg.get("ORC", 1).upper()
    if control not in ORDER_CONTROLS:
        raise TranslationError(
            f"ORC-1 order control {control or '(empty)'!r} is not NW, CA, SC or OC",
            "ORC^1^1",
            "103",
        )
    return cmds.PlaceOrder(
        event_time(msg, header, tz, received),
        _patient(msg, header),
        _order_details(msg, header),
        control="CA" if control == "OC" else control,
        order_status=msg.get("ORC", 5).upper(),
        source=source,
    )


def translate_result(
    msg: MessageReader, header: Header, tz: ZoneInfo, received: datetime, source: str
) -> cmds.Command:
    if not msg.has("OBR"):
        raise TranslationError("the message has no OBR segment", "OBR", "100")
    status = msg.get("OBR", 25).upper()
    if status not in REPORT_STATUSES:
        raise TranslationError(
            f"OBR-25 result status {status or '(empty)'!r} is not P, F or C", "OBR^1^25", "103"
        )
    observations = []
    flags = []
    for n in range(1, msg.count("OBX") + 1):
        what = msg.get_nth("OBX", n, 3, 1, 2) or msg.get_nth("OBX", n, 3, 1, 1)
        value = msg.get_nth("OBX", n, 5)
        units = msg.get_nth("OBX", n, 6, 1, 1)
        ref = msg.get_nth("OBX", n, 7)
        flag = msg.get_nth("OBX", n, 8)
        flags.append(flag)
        line = f"{what}: {value} {units}".strip()
        if ref:
            line += f" (ref {ref})"
        if flag:
            line += f" [{flag}]"
        observations.append(line)
    at = None
    for field in (22, 7):
        try:
            at = parse_dtm(msg.get("OBR", field), tz)
        except ValueError as exc:
            raise TranslationError(str(exc), f"OBR^1^{field}", "102") from None
        if at is not None:
            break
    return cmds.RecordResult(
        at or event_time(msg, header, tz, received),
        _patient(msg, header),
        _order_details(msg, header),
        report_status=status,
        observations=tuple(observations),
        result_urgency=result_urgency(flags),
        source=source,
    )
