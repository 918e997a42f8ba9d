"""Reading MSH straight from the received bytes, before (and without) a full parse.

Everything the listener must know to journal and acknowledge a message (sender, control id,
type, version, charset, ack modes) sits in MSH, and MSH is ASCII in every charset HL7 allows,
so reading it costs microseconds and works even when the rest of the message is broken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SEGMENT_END = re.compile(rb"\r\n|\r|\n")


class MalformedHeader(ValueError):
    """The bytes do not start with a readable MSH segment."""


@dataclass(frozen=True)
class Header:
    field_separator: str
    encoding_characters: str
    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    timestamp: str
    message_type: str
    trigger_event: str
    structure: str
    control_id: str
    processing_id: str
    version: str
    accept_ack_type: str
    application_ack_type: str
    charset: str

    @property
    def sender(self) -> str:
        """The journal's sender key: application and facility (MSH-3, MSH-4)."""
        return f"{self.sending_application}|{self.sending_facility}"

    @property
    def component_separator(self) -> str:
        return self.encoding_characters[:1] or "^"


def first_segment(raw: bytes) -> bytes:
    raw = raw.lstrip(b"\r\n \t")
    match = SEGMENT_END.search(raw)
    return raw[: match.start()] if match else raw


def read_header(raw: bytes) -> Header:
    seg = first_segment(raw)
    if len(seg) < 8 or not seg.startswith(b"MSH"):
        raise MalformedHeader("the message does not start with an MSH segment")
    sep = seg[3:4]
    if sep.isalnum() or sep in (b" ", b"\r", b"\n"):
        raise MalformedHeader(f"MSH-1 field separator {sep!r} is not usable")
    parts = seg.split(sep)
    encoding = parts[1]
    if not 1 <= len(encoding) <= 5:
        raise MalformedHeader("MSH-2 encoding characters are missing")

    def msh(n: int) -> str:
        """MSH-n: MSH-1 is the separator itself, so MSH-n sits at parts[n - 1]."""
        index = n - 1
        if index >= len(parts):
            return ""
        return parts[index].decode("latin-1").strip()

    comp = encoding[:1].decode("latin-1")
    type_parts = [*msh(9).split(comp), "", "", ""]
    charset = msh(18).split(encoding[1:2].decode("latin-1") or "~")[0]
    return Header(
        field_separator=sep.decode("latin-1"),
        encoding_characters=encoding.decode("latin-1"),
        sending_application=msh(3).split(comp)[0],
        sending_facility=msh(4).split(comp)[0],
        receiving_application=msh(5).split(comp)[0],
        receiving_facility=msh(6).split(comp)[0],
        timestamp=msh(7),
        message_type=type_parts[0].upper(),
        trigger_event=type_parts[1].upper(),
        structure=type_parts[2].upper(),
        control_id=msh(10),
        processing_id=msh(11).split(comp)[0],
        version=msh(12).split(comp)[0],
        accept_ack_type=msh(15).upper(),
        application_ack_type=msh(16).upper(),
        charset=charset.upper(),
    )
