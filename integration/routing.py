"""Which translator handles a message, by (message type, trigger event)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from integration.hl7.header import Header
from integration.hl7.reader import MessageReader
from integration.translate.adt import TRIGGERS as ADT_TRIGGERS
from integration.translate.adt import translate_adt
from integration.translate.gp_synopsis import translate_a31
from integration.translate.orders import translate_order, translate_result

Translator = Callable[[MessageReader, Header, ZoneInfo, datetime, str], object]


class Unroutable(LookupError):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


ROUTES: dict[tuple[str, str], Translator] = {
    **{("ADT", trigger): translate_adt for trigger in ADT_TRIGGERS},
    ("ADT", "A31"): translate_a31,  # a GP's person update, or its synopsis (AL1/DG1/PR1/OBX)
    ("ORM", "O01"): translate_order,
    ("OML", "O21"): translate_order,
    ("ORU", "R01"): translate_result,
}


def route(header: Header) -> Translator:
    translator = ROUTES.get((header.message_type, header.trigger_event))
    if translator is not None:
        return translator
    if not any(kind == header.message_type for kind, _ in ROUTES):
        raise Unroutable(f"message type {header.message_type or '(none)'} is not accepted", "200")
    raise Unroutable(
        f"trigger event {header.message_type}^{header.trigger_event or '(none)'} is not accepted",
        "201",
    )
