"""A blocking MLLP client: send a message, wait for its acknowledgement.

Used by the simulator and tests here; the outbound queue builds on it.
"""

from __future__ import annotations

import socket
import ssl
from types import TracebackType

from integration.mllp.framing import FrameDecoder, frame


class MllpError(ConnectionError):
    pass


class MllpClient:
    def __init__(
        self,
        host: str,
        port: int,
        timeout: float = 30.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.tls = tls
        self.port = port
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._decoder = FrameDecoder(max_message_bytes=16 * 1024 * 1024)
        self._pending: list[bytes] = []

    def connect(self) -> MllpClient:
        self.close()
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
        self._sock = sock
        self._decoder = FrameDecoder(max_message_bytes=16 * 1024 * 1024)
        self._pending = []
        return self

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def __enter__(self) -> MllpClient:
        return self.connect() if self._sock is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def send(self, message: bytes) -> bytes:
        """Send one message and return the acknowledgement's bytes (unframed)."""
        if self._sock is None:
            self.connect()
        assert self._sock is not None
        self._sock.sendall(frame(message))
        return self.receive()

    def receive(self) -> bytes:
        assert self._sock is not None
        while not self._pending:
            data = self._sock.recv(65536)
            if not data:
                self.close()
                raise MllpError("connection closed before the acknowledgement arrived")
            for item in self._decoder.feed(data):
                if isinstance(item, bytes):
                    self._pending.append(item)
        return self._pending.pop(0)
