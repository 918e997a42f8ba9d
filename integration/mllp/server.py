"""The MLLP listener: one thread per connection, many messages per connection.

Threads rather than asyncio because the work behind each message (journal commit, apply) is
blocking database I/O; hospital senders hold a handful of long-lived connections each.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from integration.hl7.ack import AckError, build_ack
from integration.hl7.header import MalformedHeader, read_header
from integration.mllp.framing import FrameDecoder, Oversized, frame
from integration.sender_allowlist import TLS_PEER

log = logging.getLogger(__name__)

Receiver = Callable[[bytes, str], bytes]


class _Handler(socketserver.BaseRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        owner = self.server.owner
        sock: socket.socket = self.request
        sock.settimeout(owner.idle_timeout)
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        if owner.tls is not None:
            try:
                sock = owner.tls.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                # Plain MLLP to a TLS port, an untrusted client certificate...: close.
                log.warning("MLLP TLS handshake with %s failed: %s", peer, exc)
                return
            peer = TLS_PEER + peer  # so a sender that must use TLS can be told apart
        decoder = FrameDecoder(owner.max_message_bytes)
        owner._opened(sock)
        try:
            while True:
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    log.info("MLLP %s idle for %.0f s: closing", peer, owner.idle_timeout)
                    return
                except OSError:
                    return
                if not data:
                    return
                for item in decoder.feed(data):
                    reply = owner._answer(item, peer)
                    try:
                        sock.sendall(frame(reply))
                    except OSError:
                        return
        finally:
            owner._closed(sock)


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: MllpServer


class MllpServer:
    def __init__(
        self,
        receiver: Receiver,
        host: str = "127.0.0.1",
        port: int = 2575,
        *,
        max_message_bytes: int = 1_048_576,
        idle_timeout: float = 300.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.receiver = receiver
        self.tls = tls
        self.host = host
        self.requested_port = port
        self.max_message_bytes = max_message_bytes
        self.idle_timeout = idle_timeout
        self.messages_received = 0
        self._server: _TCPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        if self._server is None:
            return self.requested_port
        return int(self._server.server_address[1])

    @property
    def listening(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections)

    def start(self) -> MllpServer:
        server = _TCPServer((self.host, self.requested_port), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="mllp", daemon=True
        )
        self._thread.start()
        log.info("MLLP listening on %s:%d%s", self.host, self.port, " (TLS)" if self.tls else "")
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            for sock in list(self._connections):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def _opened(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.add(sock)

    def _closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.discard(sock)

    def _answer(self, item: bytes | Oversized, peer: str) -> bytes:
        with self._lock:
            self.messages_received += 1
        if isinstance(item, Oversized):
            return self._reject_oversized(item)
        try:
            return self.receiver(item, peer)
        except Exception:
            # The receiver journals before it can fail; this is the last line of defence so
            # the sender always hears something and the connection stays usable.
            log.exception("MLLP receiver failed for a message from %s", peer)
            error = AckError("207", "internal error; please resend")
            try:
                header = read_header(item)
            except MalformedHeader:
                header = None
            return build_ack(header, "AE", datetime.now(UTC), error).encode("utf-8")

    def _reject_oversized(self, item: Oversized) -> bytes:
        try:
            header = read_header(item.head)
        except MalformedHeader:
            header = None
        error = AckError(
            "100",
            f"message of {item.size} bytes exceeds the {self.max_message_bytes}-byte limit",
        )
        log.warning("MLLP rejected an oversized message (%d bytes)", item.size)
        return build_ack(header, "AR", datetime.now(UTC), error).encode("utf-8")
