"""hl7apy validation against HL7 v2.5.1, for senders configured ``strict``.

hl7apy takes tens of milliseconds a message (python-hl7 about one), so it runs only for strict
senders, where it must run before the ACK (a strict sender's invalid message is refused with
AR, never stored as accepted); tolerant senders (the default) never pay for it.
"""

from __future__ import annotations

import re

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_message

_SEGMENT_SPLIT = re.compile(r"\r\n|\r|\n")


class Invalid(ValueError):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code  # HL7 table 0357


def validate_v251(text: str) -> None:
    """Raise ``Invalid`` unless ``text`` is a structurally valid v2.5.1 message.

    The message is checked as v2.5.1 whatever MSH-12 says (v2.3-v2.5 senders are held to
    the reference version: strictness is opt-in per sender).
    """
    segments = [s for s in _SEGMENT_SPLIT.split(text) if s]
    if not segments or not segments[0].startswith("MSH") or len(segments[0]) < 8:
        raise Invalid("the message does not start with an MSH segment", "100")
    sep = segments[0][3]
    fields = segments[0].split(sep)
    while len(fields) < 12:
        fields.append("")
    fields[11] = "2.5.1"
    segments[0] = sep.join(fields)
    try:
        message = parse_message(
            "\r".join(segments), validation_level=VALIDATION_LEVEL.STRICT, find_groups=True
        )
        message.validate()
    except HL7apyException as exc:
        text_ = str(exc) or type(exc).__name__
        raise Invalid(f"not valid HL7 v2.5.1: {text_}", _code(text_)) from None
    except (ValueError, TypeError, KeyError, IndexError) as exc:  # hl7apy's datatype checks
        raise Invalid(f"not valid HL7 v2.5.1: {exc}", "102") from None


def _code(text: str) -> str:
    lowered = text.lower()
    if "missing required" in lowered:
        return "101"
    if "unsupported" in lowered or "invalid message type" in lowered:
        return "200"
    return "102"
