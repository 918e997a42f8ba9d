"""Orders (ORM^O01, OML^O21) and results (ORU^R01) to commands.

Fields read: PID as for ADT; ORC-1 order control (NW new, CA cancel, SC status changed),
ORC-2/OBR-2 placer order number, ORC-3/OBR-3 filler order number, ORC-5 order status,
ORC-21 ordering facility (its ID, component 10, else component 1: the practice's ODS code),
else PD1-3; OBR-4 service (code^text), OBR-7 observation time, OBR-22 report time, OBR-25
result status (P preliminary, F final, C corrected); OBX-3 observation, OBX-5 value, OBX-6
units, OBX-7 reference range, OBX-8 flags. One ORC/OBR per message.
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


def _order_details(msg: MessageReader, header: Header) -> cmds.OrderDetails:
    placer = msg.get("ORC", 2) or msg.get("OBR", 2)
    filler = msg.get("ORC", 3) or msg.get("OBR", 3)
    if not placer and not filler:
        raise TranslationError("no placer or filler order number (ORC-2/3, OBR-2/3)", "OBR^1^2")
    practice = msg.get("ORC", 21, 1, 10) or msg.get("ORC", 21, 1, 1)
    practice = practice or msg.get("PD1", 3, 1, 3) or msg.get("PD1", 3, 1, 10)
    return cmds.OrderDetails(
        placer_system=header.sender,
        placer_order_number=placer,
        filler_order_number=filler or None,
        service_code=msg.get("OBR", 4, 1, 1),
        service_text=msg.get("OBR", 4, 1, 2),
        ordering_practice=practice or None,
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
    for n in range(1, msg.count("OBX") + 1):
        what = msg.get_nth("OBX", n, 3, 1, 2) or msg.get_nth("OBX", n, 3, 1, 1)
        value = msg.get_nth("OBX", n, 5)
        units = msg.get_nth("OBX", n, 6, 1, 1)
        ref = msg.get_nth("OBX", n, 7)
        flag = msg.get_nth("OBX", n, 8)
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
        source=source,
    )
