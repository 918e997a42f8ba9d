"""Which hosts may send us HL7: addresses and networks in WARDBOARD_MLLP_ALLOWED_SENDERS.

A message from any other address is answered AR, logged with its address, and not journalled
(an unknown host must not be able to fill the journal). Client certificates are checked by the
TLS listener itself (integration/mllp/tls.py, docs/SECURITY.md).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from datetime import datetime

from config.db import utcnow
from integration.hl7.ack import AckError, build_ack
from integration.hl7.charset import encode
from integration.hl7.header import MalformedHeader, read_header

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Receiver = Callable[[bytes, str], bytes]


def parse_allowed(spec: str) -> tuple[Network, ...]:
    """'10.1.2.3, 10.9.0.0/16, ::1' -> networks; '*' allows everyone (say so in the log)."""
    out = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if part == "*":
            out.extend([ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")])
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"not an address or network: {part!r}") from None
    return tuple(out)


# How a listener names a peer that connected over TLS: "tls:10.1.2.3:50123".
TLS_PEER = "tls:"


def over_tls(peer: str) -> bool:
    return peer.startswith(TLS_PEER)


def peer_address(peer: str) -> str:
    peer = peer.removeprefix(TLS_PEER)
    host = peer.rsplit(":", 1)[0] if peer.count(":") >= 1 and not peer.endswith("]") else peer
    return host.strip("[]")


def is_allowed(allowed: tuple[Network, ...], peer: str) -> bool:
    try:
        address = ipaddress.ip_address(peer_address(peer))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in net for net in allowed if net.version == address.version)


def guard(
    receiver: Receiver, allowed: tuple[Network, ...], clock: Callable[[], datetime] = utcnow
) -> Receiver:
    """Wrap the receive path so only allowed senders reach the journal."""

    def receive(raw: bytes, peer: str = "") -> bytes:
        if is_allowed(allowed, peer):
            return receiver(raw, peer)
        try:
            header = read_header(raw)
        except MalformedHeader:
            header = None
        log.warning(
            "MLLP message from unknown sender %s (%s, control id %s) refused with AR",
            peer,
            header.sender if header else "unreadable header",
            header.control_id if header else "-",
        )
        error = AckError("207", f"sender {peer_address(peer)} is not allowed", location="MSH")
        return encode(build_ack(header, "AR", clock(), error), "utf-8")

    return receive
