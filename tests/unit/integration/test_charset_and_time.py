from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from integration.hl7.charset import UndecodableMessage, UnsupportedCharset, decode
from integration.hl7.datatypes import BadTimestamp, parse_date, parse_dtm

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("msh18", "encoding"),
    [
        ("UNICODE UTF-8", "utf-8"),
        ("8859/1", "latin-1"),
        ("", "utf-8"),
        ("", "latin-1"),
        ("ASCII", "latin-1"),
    ],
)
def test_welsh_name_survives(msh18, encoding):
    text, _ = decode("PID|||Siân Ôwen".encode(encoding), msh18)
    assert "Siân Ôwen" in text


def test_declared_utf8_with_invalid_bytes_is_refused():
    with pytest.raises(UndecodableMessage):
        decode("Siân".encode("latin-1"), "UNICODE UTF-8")


def test_unknown_charset_is_refused():
    with pytest.raises(UnsupportedCharset):
        decode(b"x", "EBCDIC")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("20261122091500", datetime(2026, 11, 22, 9, 15, tzinfo=UTC)),  # GMT
        ("20260722091500", datetime(2026, 7, 22, 8, 15, tzinfo=UTC)),  # BST
        ("20260722091500+0000", datetime(2026, 7, 22, 9, 15, tzinfo=UTC)),
        ("202607220915", datetime(2026, 7, 22, 8, 15, tzinfo=UTC)),
        ("20260722091500.25+0100", datetime(2026, 7, 22, 8, 15, 0, 250000, tzinfo=UTC)),
        ("", None),
    ],
)
def test_parse_dtm(raw, expected):
    assert parse_dtm(raw, LONDON) == expected


def test_parse_dtm_during_autumn_change_reads_first_occurrence():
    # 01:30 happens twice on 25 October 2026; without an offset we take the first (BST).
    assert parse_dtm("20261025013000", LONDON) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize("raw", ["2026-11-22", "20261399", "yesterday"])
def test_bad_timestamps(raw):
    with pytest.raises(BadTimestamp):
        parse_dtm(raw, LONDON)


def test_parse_date():
    assert parse_date("19580312") == date(1958, 3, 12)
    assert parse_date("195803121200") == date(1958, 3, 12)
    with pytest.raises(BadTimestamp):
        parse_date("1958")
