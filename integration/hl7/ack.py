"""Building ACK messages (MSA, and ERR when something went wrong) from the peeked header.

Built from MSH alone, so an acknowledgement never waits for a full parse and a message that
cannot be parsed still gets one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime

from integration.hl7.escape import escape
from integration.hl7.header import Header

OUR_APPLICATION = "WARDBOARD"
OUR_FACILITY = "WARDBOARD"

# HL7 table 0357 texts for the codes we use.
ERROR_TEXT = {
    "0": "Message accepted",
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "202": "Unsupported processing id",
    "203": "Unsupported version id",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "206": "Application record locked",
    "207": "Application internal error",
}

_counter = itertools.count(1)


@dataclass(frozen=True)
class AckError:
    code: str  # HL7 table 0357
    message: str  # ERR-8, for a person
    severity: str = "E"  # ERR-4: E error, W warning, F fatal
    location: str = ""  # ERR-2, e.g. "PV1^1^3"


def _next_control_id(now: datetime) -> str:
    return f"WB{now:%Y%m%d%H%M%S}{next(_counter) % 1_000_000:06d}"


def build_ack(
    header: Header | None,
    code: str,
    now: datetime,
    error: AckError | None = None,
    charset_label: str = "",
) -> str:
    """An ACK (original or enhanced mode code: AA/AE/AR or CA/CE/CR) as HL7 text."""
    fs = header.field_separator if header else "|"
    enc = header.encoding_characters if header else "^~\\&"
    comp = enc[:1] or "^"
    version = (header.version if header else "") or "2.5.1"
    trigger = header.trigger_event if header else ""
    control_id = header.control_id if header else ""
    msh = [
        "MSH",
        enc,
        OUR_APPLICATION,
        OUR_FACILITY,
        header.sending_application if header else "",
        header.sending_facility if header else "",
        now.strftime("%Y%m%d%H%M%S"),
        "",
        comp.join(["ACK", trigger, "ACK"]) if trigger else "ACK",
        _next_control_id(now),
        (header.processing_id if header else "") or "P",
        version,
        "",
        "",
        "",
        "",
        "",
        charset_label or (header.charset if header else ""),
    ]
    while msh and msh[-1] == "":
        msh.pop()
    text_message = escape(error.message, fs, enc)[:80] if error else ""
    msa = ["MSA", code, escape(control_id, fs, enc)]
    if text_message:
        msa.append(text_message)
    segments = [fs.join(msh), fs.join(msa)]
    if error is not None:
        err_code = comp.join([error.code, ERROR_TEXT.get(error.code, ""), "HL70357"])
        err = [
            "ERR",
            "",
            # ERR-2 is an ERL (segment^sequence^field) in the sender's component separator.
            error.location.replace("^", comp),
            err_code,
            error.severity,
            "",
            "",
            "",
            escape(error.message, fs, enc),
        ]
        segments.append(fs.join(err))
    return "\r".join(segments) + "\r"
