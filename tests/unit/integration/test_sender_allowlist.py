"""The MLLP sender allow-list, without sockets."""

import pytest

from integration.sender_allowlist import guard, is_allowed, parse_allowed, peer_address
from tests.hl7_builder import ack_code, ack_segment, adt


def test_addresses_and_networks():
    allowed = parse_allowed("10.1.2.3, 192.168.0.0/16, ::1")
    assert is_allowed(allowed, "10.1.2.3:5000")
    assert is_allowed(allowed, "192.168.44.1:2575")
    assert is_allowed(allowed, "::1:4000")
    assert is_allowed(allowed, "::ffff:10.1.2.3:4000")  # IPv4-mapped IPv6
    assert not is_allowed(allowed, "10.1.2.4:5000")
    assert not is_allowed(allowed, "")
    assert peer_address("127.0.0.1:1234") == "127.0.0.1"


def test_star_allows_everyone_and_nonsense_is_refused():
    assert is_allowed(parse_allowed("*"), "203.0.113.9:1")
    with pytest.raises(ValueError, match="not an address"):
        parse_allowed("10.0.0.1, hospital-pas")


def test_unknown_sender_gets_AR_and_never_reaches_the_pipeline(caplog):
    seen = []
    receive = guard(lambda raw, peer: seen.append(raw) or b"", parse_allowed("10.0.0.0/8"))
    ack = receive(adt("A01"), "203.0.113.9:40000")
    assert ack_code(ack) == "AR"
    assert "203.0.113.9" in "|".join(ack_segment(ack, "ERR"))
    assert seen == []
    assert "unknown sender 203.0.113.9" in caplog.text
