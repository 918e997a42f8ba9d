"""The reader gives the values python-hl7's tree gives, for any message and any path.

``Tree`` is the reader as it was (every value through ``hl7.parse`` and ``extract_field``);
the reader now reads well-formed messages from their field strings and falls back to python-hl7
for the rest, and must not differ from it in any value, count or group.
"""

from __future__ import annotations

import hl7
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.hl7.reader import MessageReader, UnparseableMessage
from tests.hl7_builder import adt


class Tree:
    """The reference: the reader before it read field strings itself."""

    def __init__(self, text: str) -> None:
        normalised = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r")
        try:
            self.message = hl7.parse(normalised)
        except Exception as exc:
            raise UnparseableMessage(str(exc)) from None

    def has(self, segment: str) -> bool:
        return any(str(seg[0]) == segment for seg in self.message)

    def count(self, segment: str) -> int:
        return sum(1 for seg in self.message if str(seg[0]) == segment)

    def get_nth(self, segment: str, n: int, field: int, rep: int, comp: int, sub: int) -> str:
        try:
            value = self.message.extract_field(segment, n, field, rep, comp, sub)
        except (KeyError, IndexError):
            return ""
        return self.message.unescape(str(value)) if value else ""

    def repetitions(self, segment: str, field: int) -> int:
        try:
            seg = self.message.segment(segment)
        except KeyError:
            return 0
        if field >= len(seg) or not str(seg[field]):
            return 0
        return len(seg[field])

    def groups(self, segment: str) -> list[list[str]]:
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
        return [head + group for group in found]


NAMES = ("MSH", "EVN", "PID", "PV1", "OBX", "NTE", "BHS")
PATHS = [
    (field, rep, comp, sub)
    for field in range(0, 9)
    for rep in (1, 2, 3)
    for comp in (1, 2, 3, 5)
    for sub in (1, 2, 3)
]


def same(text: str) -> None:
    try:
        expected = Tree(text)
    except UnparseableMessage:
        with pytest.raises(UnparseableMessage):
            MessageReader(text)
        return
    reader = MessageReader(text)
    for name in NAMES:
        for ask in ("has", "count"):
            assert outcome(getattr(reader, ask), name) == outcome(getattr(expected, ask), name)
        for field in range(0, 9):
            got = outcome(reader.repetitions, name, field)
            assert got == outcome(expected.repetitions, name, field), (name, field)
        for n in (1, 2):
            for path in PATHS:
                got = outcome(reader.get_nth, name, n, *path)
                assert got == outcome(expected.get_nth, name, n, *path), (name, n, path)
                if n == 1:
                    assert outcome(reader.get, name, *path) == got
        got = outcome(lambda name=name: [lines(g.message) for g in reader.groups(name)])
        want = outcome(
            lambda name=name: [lines(Tree("\r".join(g)).message) for g in expected.groups(name)]
        )
        assert got == want, name


def lines(message: hl7.Message) -> list[str]:
    return [str(s) for s in message]


def outcome(fn, *args):
    """A value, or the kind of exception (python-hl7 itself fails on some shapes)."""
    try:
        return fn(*args)
    except Exception as exc:
        return type(exc).__name__


def test_the_messages_the_tests_send():
    for trigger in ("A01", "A02", "A03", "A08", "A11", "A13", "A21", "A28", "A40"):
        same(adt(trigger, family="O'BRIEN", given="Siân Mary").decode())


@pytest.mark.parametrize(
    "text",
    [
        "MSH|^~\\&|A|B|||20261122||ADT^A01|1|P|2.5.1\rPID|1||X1^^^WGH^MR~9990000018^^^NHS^NH||"
        "A\\F\\B^C\\S\\D&E\\T\\F^^^Dr||19580312|F|||1 Road\\R\\2^^Sale^^M33 7XX",
        "MSH|^~\\&|\rPID|1",  # nothing after MSH-2
        "MSH#$%*@#A#B\rPID#1##X$Y%Z@W*V",  # other separators and escape
        "MSH|^~\\&|A\rEVN\rPID|1",  # a segment with no fields: python-hl7's own parse
        "MSH|^~\\&|A\rP^D|1|2",  # a component separator in a segment name
        "MSH|^~\\&|A\rMSH|^~\\&|B",  # two headers
        "MSH|^~\\&",  # no field after the encoding characters
        "MSH|^^\\&|A\rPID|1^2",  # repeated encoding characters
        "  \n\nMSH|^~\\&|A\nPID|1\n\n",
        "PID|1",
        "MSH",
        "",
    ],
)
def test_shapes(text):
    same(text)


_ALPHABET = "AB1 |~^&\\FSTREX.br"


@st.composite
def messages(draw):
    encoding = draw(st.sampled_from(["^~\\&", "^~\\&", "^~\\", "#~!%", "^~&", "^"]))
    header = "MSH|" + encoding + "|" + draw(st.text(_ALPHABET, max_size=20))
    lines = [header]
    for _ in range(draw(st.integers(0, 5))):
        # Mostly well-formed segments (read from their fields), some of the shapes left to
        # python-hl7's own parse.
        name = draw(st.sampled_from(NAMES[1:] * 4 + ("P^D", "")))
        body = draw(st.text(_ALPHABET + encoding, max_size=40))
        lines.append(name + draw(st.sampled_from(["|"] * 6 + [""])) + body)
    return draw(st.sampled_from(["\r", "\n", "\r\n"])).join(lines)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_any_message(text):
    same(text)
