from datetime import UTC, datetime

import pytest

from integration.hl7.ack import AckError, build_ack
from integration.hl7.header import MalformedHeader, read_header
from tests.hl7_builder import adt

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_reads_msh_fields():
    h = read_header(adt("A02", control_id="ABC123", version="2.4", charset="8859/1"))
    assert (h.message_type, h.trigger_event, h.structure) == ("ADT", "A02", "ADT_A01")
    assert h.control_id == "ABC123"
    assert h.sender == "PAS|WGH"
    assert h.version == "2.4"
    assert h.charset == "8859/1"
    assert h.accept_ack_type == "AL"


def test_reads_msh_with_newline_segment_separators_and_leading_whitespace():
    h = read_header(b"\n" + adt(control_id="N1", segment_separator="\n"))
    assert h.control_id == "N1"


def test_unusual_separators():
    h = read_header(b"MSH#$~\\&#APP#FAC#X#Y#2026##ADT$A03#77#P#2.3")
    assert (h.message_type, h.trigger_event, h.control_id, h.version) == ("ADT", "A03", "77", "2.3")


@pytest.mark.parametrize(
    "raw",
    [b"", b"PID|1||X", b"MSH", b"MSHA^~\\&|x", b"\x00\x01\x02 binary junk"],
)
def test_malformed_header(raw):
    with pytest.raises(MalformedHeader):
        read_header(raw)


def test_ack_echoes_control_id_and_trigger():
    h = read_header(adt(control_id="MSG42"))
    ack = build_ack(h, "AA", NOW)
    segments = ack.strip("\r").split("\r")
    msh, msa = segments[0].split("|"), segments[1].split("|")
    assert msh[8] == "ACK^A01^ACK"
    assert msh[4:6] == ["PAS", "WGH"]  # addressed back to the sender
    assert msa == ["MSA", "AA", "MSG42"]
    assert len(segments) == 2


def test_error_ack_has_err_segment_with_code_severity_and_escaped_text():
    h = read_header(adt(control_id="MSG43"))
    ack = build_ack(h, "AE", NOW, AckError("103", "unknown ward 'X|Y^Z'", location="PV1^1^3"))
    err = ack.strip("\r").split("\r")[2].split("|")
    assert err[0] == "ERR"
    assert err[2] == "PV1^1^3"
    assert err[3] == "103^Table value not found^HL70357"
    assert err[4] == "E"
    assert err[8] == "unknown ward 'X\\F\\Y\\S\\Z'"


def test_ack_without_any_readable_header():
    ack = build_ack(None, "AR", NOW, AckError("100", "no MSH"))
    assert ack.split("\r")[1].split("|")[:3] == ["MSA", "AR", ""]
