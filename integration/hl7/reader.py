"""Field access on a received message that never raises for a missing field.

python-hl7 parses in about 2 ms where hl7apy takes about 50 ms, so python-hl7's rules are what
the receive path follows; hl7apy is kept for validation and building outbound messages.

Building python-hl7's whole tree (every segment, field, repetition and component as objects)
was most of what translating an ADT cost, for the 20-30 values a translator reads. So a
well-formed message is read from its segments' field strings instead, and only the field a
translator asks for is split further, by the same rules ``hl7.Segment.extract_field`` applies
to the tree (a path deeper than the data follows the first child; a path past it is empty),
with the same separators (``hl7.parser.create_parse_plan``) and the same unescaping
(``hl7.util.unescape``). A message whose shape those rules treat specially (a segment line
without a field separator, a segment name holding a component separator, a second header
segment) is parsed by python-hl7 itself, as every message was before; ``message`` is
python-hl7's tree either way (the message monitor's parsed view).
``tests/unit/integration/test_hl7_reader.py`` checks both ways give the same values.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TypeVar

import hl7
from hl7.parser import create_parse_plan
from hl7.util import unescape

_HEADERS = ("MSH", "BHS", "FHS")
_T = TypeVar("_T")


class UnparseableMessage(ValueError):
    pass


class MessageReader:
    def __init__(self, text: str) -> None:
        # python-hl7 strips surrounding whitespace itself; so do we, to read the same lines.
        self._text = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r").strip()
        try:
            plan = create_parse_plan(self._text)
        except Exception as exc:  # python-hl7 raises several kinds on garbage
            raise UnparseableMessage(f"the message could not be parsed: {exc}") from None
        # "\r|~^&" in that order: segment, field, repetition, component, subcomponent.
        self._seps = plan.separators
        # What ``unescape`` reads: the message's separators and escape character.
        self._escapes = hl7.Message(separator="\r", esc=plan.esc, separators=plan.separators)
        self._segments = self._split_segments()
        if self._segments is None:
            self.message = self._parse()  # the unusual shapes: python-hl7's own tree

    def _split_segments(self) -> dict[str, list[list[str]]] | None:
        """Each segment's fields by segment name, as python-hl7 numbers them; None when the
        message needs python-hl7's own parse (see the module's docstring)."""
        seps = self._seps
        if len(set(seps)) != 5 or self._escapes.esc in seps:
            return None
        field_sep, below = seps[1], seps[2:]
        lines = self._text.split("\r")
        found: dict[str, list[list[str]]] = {}
        for n, line in enumerate(lines):
            if field_sep not in line:
                return None
            if line[:3] in _HEADERS:
                if n:
                    return None
                # The header's MSH-1 is the field separator and MSH-2 the encoding characters.
                end = line.find(field_sep, 4)
                if end < 0:
                    return None
                rest = line[end + 1 :]
                fields = [line[:3], line[3], line[4:end], *(rest.split(field_sep) if rest else ())]
            else:
                fields = line.split(field_sep)
            name = fields[0]
            if any(s in name for s in below):
                return None
            found.setdefault(name, []).append(fields)
        self._lines = lines
        return found

    def _parse(self) -> hl7.Message:
        try:
            return hl7.parse(self._text)
        except Exception as exc:
            raise UnparseableMessage(f"the message could not be parsed: {exc}") from None

    @cached_property
    def message(self) -> hl7.Message:
        """python-hl7's tree of the whole message (parsed when first asked for)."""
        return self._parse()

    def has(self, segment: str) -> bool:
        if self._segments is None:
            return any(str(seg[0]) == segment for seg in self.message)
        return segment in self._segments

    def get(self, segment: str, field: int, rep: int = 1, comp: int = 1, sub: int = 1) -> str:
        """The value at SEG-field[rep].comp.sub, unescaped; '' if absent."""
        return self.get_nth(segment, 1, field, rep, comp, sub)

    def count(self, segment: str) -> int:
        if self._segments is None:
            return sum(1 for seg in self.message if str(seg[0]) == segment)
        return len(self._segments.get(segment, ()))

    def get_nth(
        self, segment: str, n: int, field: int, rep: int = 1, comp: int = 1, sub: int = 1
    ) -> str:
        """Like ``get`` for the n-th (1-based) occurrence of a repeating segment (OBX)."""
        if self._segments is None:
            try:
                value = self.message.extract_field(segment, n, field, rep, comp, sub)
            except (KeyError, IndexError):
                return ""
        else:
            value = self._extract(segment, n, field, rep, comp, sub)
        # Unescaped a second time, as this reader always has (python-hl7's extract_field
        # unescapes once already).
        return self._escapes.unescape(str(value)) if value else ""

    def _extract(self, segment: str, n: int, field: int, rep: int, comp: int, sub: int) -> str:
        """``hl7.Segment.extract_field`` on the field's string; '' where it would raise."""
        assert self._segments is not None
        try:
            fields = _at(self._segments[segment], n)
        except (KeyError, IndexError):
            return ""
        raw = segment == "MSH" and field in (1, 2)  # MSH-1 and MSH-2 are never unescaped
        field, rep, comp, sub = field or 1, rep or 1, comp or 1, sub or 1
        if field >= len(fields):
            return ""
        text = fields[field]
        seps = self._seps
        try:
            if segment in _HEADERS and field in (1, 2):  # never split
                leaf = _at([text], rep)
                return (
                    "" if comp != 1 or sub != 1 else leaf if raw else unescape(self._escapes, leaf)
                )
            if not any(s in text for s in seps[2:]):
                # A field with no separators is a leaf: only the first path reaches it.
                return unescape(self._escapes, _at([text], rep)) if comp == sub == 1 else ""
            repetition = _at(text.split(seps[2]), rep)
            if not any(s in repetition for s in seps[3:]):
                return unescape(self._escapes, repetition) if comp == sub == 1 else ""
            components = repetition.split(seps[3])
            if comp > len(components):
                return ""
            component = _at(components, comp)
            subs = component.split(seps[4]) if seps[4] in component else [component]
            return unescape(self._escapes, _at(subs, sub)) if sub <= len(subs) else ""
        except IndexError:
            return ""

    def groups(self, segment: str) -> list[MessageReader]:
        """One reader per occurrence of ``segment``, for messages that repeat a group (A17's
        two PID/PV1 pairs): the segments before the first occurrence (MSH, EVN) followed by
        that occurrence and everything up to the next, so the usual field access applies."""
        head: list[str] = []
        found: list[list[str]] = []
        for name, text in self._named_lines():
            if name == segment:
                found.append([text])
            elif found:
                found[-1].append(text)
            else:
                head.append(text)
        return [MessageReader("\r".join(head + group)) for group in found]

    def _named_lines(self) -> list[tuple[str, str]]:
        if self._segments is None:
            return [(str(seg[0]), str(seg)) for seg in self.message]
        return [(line.split(self._seps[1], 1)[0], line) for line in self._lines]

    def repetitions(self, segment: str, field: int) -> int:
        if self._segments is None:
            try:
                seg = self.message.segment(segment)
            except KeyError:
                return 0
            if field >= len(seg) or not str(seg[field]):
                return 0
            return len(seg[field])
        if segment not in self._segments:
            return 0
        fields = self._segments[segment][0]
        if field >= len(fields) or not fields[field]:
            return 0
        text = fields[field]
        if segment in _HEADERS and field in (1, 2):
            return 1
        if not any(s in text for s in self._seps[2:]):
            return 1
        return len(text.split(self._seps[2]))


def _at(items: Sequence[_T], index: int) -> _T:
    """python-hl7's 1-based index (``hl7.Sequence.__call__``): 0 and below index from the end."""
    return items[index - 1 if index >= 1 else index]
