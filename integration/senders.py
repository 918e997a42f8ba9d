"""Per-sender receive policy, from a TOML file (``WARDBOARD_HL7_SENDERS_FILE``).

Senders differ: a PAS that resends on every missed ACK wants the ACK fast and can live with
errors surfacing in our error queue ("async"); a small GP system that shows the user our AE
wants to hear about a failure in the ACK itself ("sync"). One file says which is which, with
a default for senders it does not name.

    [default]
    apply = "sync"            # or "async"

    [senders."PAS|WGH"]       # MSH-3|MSH-4; "PAS" alone matches any facility
    apply = "async"
    strict = true             # hl7apy v2.5.1 validation before the ACK; invalid -> AR
    charset = "8859/1"        # override MSH-18 when a sender mislabels its bytes
    allowed_addresses = ["10.1.2.3", "127.0.0.1"]
    tls = true                # must connect to the TLS listener (WARDBOARD_MLLP_TLS_PORT)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from integration.hl7.charset import CHARSETS
from integration.hl7.header import Header
from integration.sender_allowlist import over_tls, peer_address

SYNC, ASYNC = "sync", "async"


class SenderConfigError(ValueError):
    """The senders file is unreadable or says something we cannot do."""


@dataclass(frozen=True)
class SenderPolicy:
    apply: str = SYNC
    strict: bool = False  # validate with hl7apy against v2.5.1 before the ACK; AR if invalid
    charset: str = ""
    allowed_addresses: tuple[str, ...] = field(default_factory=tuple)
    tls: bool = False  # messages from this sender are only accepted over TLS

    def secure_enough(self, peer: str) -> bool:
        """A sender that must use TLS is refused over plain MLLP (files are not on the wire)."""
        return not self.tls or over_tls(peer) or peer.startswith(FILE_PEER)

    @property
    def accept_then_apply(self) -> bool:
        return self.apply == ASYNC

    def allows(self, peer: str) -> bool:
        """``peer`` is "host:port" as the listener saw it; empty lists allow everyone.

        "file:NAME" is a batch file an operator imported or dropped in the batch folder: the
        address rule is about the network and does not apply to it.
        """
        if not self.allowed_addresses or not peer or peer.startswith(FILE_PEER):
            return True
        return peer_address(peer) in self.allowed_addresses


FILE_PEER = "file:"


@dataclass(frozen=True)
class SenderDirectory:
    default: SenderPolicy = field(default_factory=SenderPolicy)
    senders: dict[str, SenderPolicy] = field(default_factory=dict)

    def policy_for(self, header: Header) -> SenderPolicy:
        return (
            self.senders.get(header.sender)
            or self.senders.get(header.sending_application)
            or self.default
        )

    @classmethod
    def load(cls, path: str | Path, default_apply: str = SYNC) -> SenderDirectory:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise SenderConfigError(f"cannot read senders file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SenderConfigError(f"senders file {path} is not valid TOML: {exc}") from None
        return cls.from_mapping(data, default_apply, str(path))

    @classmethod
    def from_mapping(
        cls, data: dict[str, Any], default_apply: str = SYNC, where: str = "senders"
    ) -> SenderDirectory:
        default = _policy(data.get("default", {}), SenderPolicy(apply=default_apply), where)
        senders = {
            str(name): _policy(spec, default, f"{where}: senders.{name}")
            for name, spec in dict(data.get("senders", {})).items()
        }
        return cls(default, senders)


def _policy(spec: Any, base: SenderPolicy, where: str) -> SenderPolicy:
    if not isinstance(spec, dict):
        raise SenderConfigError(f"{where}: expected a table")
    unknown = set(spec) - {"apply", "strict", "charset", "allowed_addresses", "tls"}
    if unknown:
        raise SenderConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    apply = str(spec.get("apply", base.apply))
    if apply not in (SYNC, ASYNC):
        raise SenderConfigError(f"{where}: apply must be 'sync' or 'async', not {apply!r}")
    charset = str(spec.get("charset", base.charset))
    if charset and charset.upper() not in CHARSETS:
        raise SenderConfigError(f"{where}: charset {charset!r} is not one we can decode")
    addresses = spec.get("allowed_addresses", list(base.allowed_addresses))
    if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
        raise SenderConfigError(f"{where}: allowed_addresses must be a list of strings")
    strict = spec.get("strict", base.strict)
    tls = spec.get("tls", base.tls)
    for name, value in (("strict", strict), ("tls", tls)):
        if not isinstance(value, bool):
            raise SenderConfigError(f"{where}: {name} must be true or false")
    return replace(
        base,
        apply=apply,
        strict=strict,
        charset=charset.upper(),
        allowed_addresses=tuple(addresses),
        tls=tls,
    )
