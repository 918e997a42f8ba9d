"""MLLP framing: ``0x0B message 0x1C 0x0D``.

The decoder is a pure state machine fed with whatever TCP delivers, so several messages in
one read, one message split over many reads, and junk before a start byte all work the same.
"""

from __future__ import annotations

from dataclasses import dataclass

START = b"\x0b"
END = b"\x1c\x0d"


def frame(message: bytes) -> bytes:
    return START + message + END


@dataclass(frozen=True)
class Oversized:
    """A frame that passed the size cap; its first bytes are kept to answer its MSH."""

    head: bytes
    size: int


class FrameDecoder:
    def __init__(self, max_message_bytes: int = 1_048_576) -> None:
        self.max_message_bytes = max_message_bytes
        self._buffer = bytearray()
        self._in_frame = False
        self._discarding = False
        self._discard_head = b""
        self._discarded = 0

    def feed(self, data: bytes) -> list[bytes | Oversized]:
        """Return every complete message (or oversized marker) that ``data`` finished."""
        out: list[bytes | Oversized] = []
        self._buffer.extend(data)
        while True:
            if not self._in_frame:
                start = self._buffer.find(START)
                if start < 0:
                    self._buffer.clear()  # bytes before a start byte are noise
                    return out
                del self._buffer[: start + 1]
                self._in_frame = True
                self._discarding = False
                self._discarded = 0
            end = self._buffer.find(END)
            if end < 0:
                self._enforce_cap()
                return out
            body = bytes(self._buffer[:end])
            del self._buffer[: end + 2]
            self._in_frame = False
            if self._discarding or len(body) > self.max_message_bytes:
                size = self._discarded + len(body)
                head = self._discard_head or body[:4096]
                out.append(Oversized(head=head, size=size))
                self._discard_head = b""
            else:
                out.append(body)

    @property
    def pending_bytes(self) -> int:
        return len(self._buffer)

    def _enforce_cap(self) -> None:
        """Keep memory bounded: past the cap, remember only the head and count the rest."""
        if len(self._buffer) <= self.max_message_bytes:
            return
        keep_tail = len(END) - 1  # END may be split across reads
        if not self._discarding:
            self._discarding = True
            self._discard_head = bytes(self._buffer[:4096])
        drop = len(self._buffer) - keep_tail
        self._discarded += drop
        del self._buffer[:drop]
