"""Field access on a parsed message (python-hl7) that never raises for a missing field.

python-hl7 parses in about 2 ms where hl7apy takes about 50 ms, so it is what the receive
path uses; hl7apy is kept for validation and building outbound messages.
"""

from __future__ import annotations

import hl7


class UnparseableMessage(ValueError):
    pass


class MessageReader:
    def __init__(self, text: str) -> None:
        normalised = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r")
        try:
            self.message = hl7.parse(normalised)
        except Exception as exc:  # python-hl7 raises several kinds on garbage
            raise UnparseableMessage(f"the message could not be parsed: {exc}") from None

    def has(self, segment: str) -> bool:
        return any(str(seg[0]) == segment for seg in self.message)

    def get(self, segment: str, field: int, rep: int = 1, comp: int = 1, sub: int = 1) -> str:
        """The value at SEG-field[rep].comp.sub, unescaped; '' if absent."""
        try:
            value = self.message.extract_field(segment, 1, field, rep, comp, sub)
        except (KeyError, IndexError):
            return ""
        return self.message.unescape(str(value)) if value else ""

    def count(self, segment: str) -> int:
        return sum(1 for seg in self.message if str(seg[0]) == segment)

    def get_nth(
        self, segment: str, n: int, field: int, rep: int = 1, comp: int = 1, sub: int = 1
    ) -> str:
        """Like ``get`` for the n-th (1-based) occurrence of a repeating segment (OBX)."""
        try:
            value = self.message.extract_field(segment, n, field, rep, comp, sub)
        except (KeyError, IndexError):
            return ""
        return self.message.unescape(str(value)) if value else ""

    def groups(self, segment: str) -> list[MessageReader]:
        """One reader per occurrence of ``segment``, for messages that repeat a group (A17's
        two PID/PV1 pairs): the segments before the first occurrence (MSH, EVN) followed by
        that occurrence and everything up to the next, so the usual field access applies."""
        head: list[str] = []
        found: list[list[str]] = []
        for seg in self.message:
            text = str(seg)
            if str(seg[0]) == segment:
                found.append([text])
            elif found:
                found[-1].append(text)
            else:
                head.append(text)
        return [MessageReader("\r".join(head + group)) for group in found]

    def repetitions(self, segment: str, field: int) -> int:
        try:
            seg = self.message.segment(segment)
        except KeyError:
            return 0
        if field >= len(seg) or not str(seg[field]):
            return 0
        return len(seg[field])
