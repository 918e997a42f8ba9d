"""TLS for MLLP: the listener's context from settings, and a client context for tests/tools.

Why in the connection thread: the handshake runs after accept, in the thread that serves the
connection, so a slow or hostile client cannot hold up the accept loop for anyone else.
"""

from __future__ import annotations

import ssl
from pathlib import Path


class TlsConfigError(ValueError):
    """The certificate, key or CA file cannot be used (a clear line at start, no traceback)."""


def server_context(cert: str, key: str, client_ca: str = "") -> ssl.SSLContext | None:
    """None when no certificate is configured (plain MLLP); with ``client_ca`` every client
    must present a certificate that CA signed."""
    if not cert and not key and not client_ca:
        return None
    if not cert or not key:
        raise TlsConfigError(
            "MLLP TLS needs both WARDBOARD_MLLP_TLS_CERT and WARDBOARD_MLLP_TLS_KEY"
        )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise TlsConfigError(
            f"cannot load the MLLP TLS certificate/key ({cert}, {key}): {exc}"
        ) from None
    if client_ca:
        if not Path(client_ca).is_file():
            raise TlsConfigError(f"WARDBOARD_MLLP_TLS_CA {client_ca}: no such file")
        try:
            context.load_verify_locations(cafile=client_ca)
        except (OSError, ssl.SSLError) as exc:
            raise TlsConfigError(f"cannot load the MLLP TLS client CA {client_ca}: {exc}") from None
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_context(ca: str, cert: str = "", key: str = "") -> ssl.SSLContext:
    """A client context trusting ``ca``; ``cert``/``key`` for a listener that asks for one."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert:
        context.load_cert_chain(cert, key or None)
    return context
