"""HL7 batches (FHS/BHS ... BTS/FTS): split into messages, receive each, answer in a batch.

A batch is only an envelope: every message in it goes through the ordinary receive path on its
own (journalled before it is answered, the duplicate check by MSH-10, sync or async apply), so
one bad message fails alone and a resent batch applies nothing twice. The answer is a batch
acknowledgement (HL7 v2.5.1 section 2.10.3, every message acknowledged): the sender's envelope
mirrored (FHS/BHS with our control id and theirs as the reference), one ACK per message in
order, and BTS with the number of ACKs and a comment naming the messages not accepted.

A batch whose BTS-1 count disagrees with the messages it holds was cut short or assembled
wrongly; none of its messages is applied (each is journalled as rejected with AR, without its
control id, so the corrected batch is accepted when resent).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from integration.hl7.ack import OUR_APPLICATION, OUR_FACILITY, AckError
from integration.hl7.escape import escape
from integration.hl7.header import MalformedHeader, read_header

SEGMENT_END = re.compile(rb"\r\n|\r|\n")
ENVELOPE = (b"FHS", b"BHS")
ACCEPTED = ("AA", "CA")
_counter = itertools.count(1)

Progress = Callable[[int, int], None]  # (messages done, messages in the batch)


class MalformedBatch(ValueError):
    """The bytes cannot be split into messages (a segment outside any message...)."""


@dataclass
class Batch:
    """One BHS..BTS group (or the messages of a file without BHS)."""

    header: list[str] | None = None  # BHS fields, BHS-n at index n - 1
    messages: list[bytes] = field(default_factory=list)
    declared: int | None = None  # BTS-1

    @property
    def count_error(self) -> str | None:
        if self.declared is None or self.declared == len(self.messages):
            return None
        return (
            f"BTS-1 says {self.declared} message(s) but the batch holds {len(self.messages)}: "
            "the whole batch is rejected; resend it complete"
        )


@dataclass
class BatchFile:
    file_header: list[str] | None  # FHS fields
    batches: list[Batch]
    field_separator: str = "|"
    encoding_characters: str = "^~\\&"

    @property
    def message_count(self) -> int:
        return sum(len(b.messages) for b in self.batches)


class Answer(Protocol):
    """What the receive path returns for one message (``inbound.Outcome``)."""

    @property
    def ack(self) -> bytes: ...

    @property
    def code(self) -> str: ...


class Receives(Protocol):
    """The receive path (``inbound.InboundPipeline``), as much as a batch needs of it."""

    def process(self, raw: bytes, peer: str = "") -> Answer: ...

    def reject(self, raw: bytes, peer: str, error: AckError) -> Answer: ...


@dataclass(frozen=True)
class MessageResult:
    control_id: str
    code: str
    ack: bytes

    @property
    def reason(self) -> str:
        """ERR-8 of the ACK (why it was not accepted), or ''."""
        for segment in self.ack.split(b"\r"):
            if segment.startswith(b"ERR") and len(segment) > 3:
                fields = segment.decode("utf-8", "replace").split(segment[3:4].decode())
                return fields[8] if len(fields) > 8 else ""
        return ""


@dataclass(frozen=True)
class BatchResult:
    ack: bytes
    results: list[MessageResult]
    count_errors: list[str]

    @property
    def failed(self) -> list[MessageResult]:
        return [r for r in self.results if r.code not in ACCEPTED]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.count_errors


def is_batch(raw: bytes) -> bool:
    """True for a file or frame that starts with FHS or BHS (cheap: looks at 3 bytes)."""
    return raw.lstrip(b"\x0b\x1c\r\n \t")[:3] in ENVELOPE


def _fields(segment: bytes) -> tuple[list[str], str]:
    """FHS/BHS fields (index n - 1 holds field n, as for MSH) and the field separator."""
    if len(segment) < 5:
        raise MalformedBatch(f"{segment[:3].decode('latin-1')} segment is too short")
    sep = segment[3:4].decode("latin-1")
    parts = segment.decode("latin-1").split(sep)
    return parts, sep


def split_batch(raw: bytes) -> BatchFile:
    """Split a batch file (or frame) into its batches and messages.

    Tolerant of what real files hold: LF or CRLF line ends, MLLP framing bytes, blank lines,
    no FHS, no BHS (bare messages one after another), no BTS/FTS (then no count is checked).
    """
    cleaned = raw.replace(b"\x0b", b"").replace(b"\x1c", b"")
    segments = [s.strip(b" \t") for s in SEGMENT_END.split(cleaned)]
    result = BatchFile(file_header=None, batches=[])
    current: Batch | None = None
    message: list[bytes] | None = None

    def close_message() -> None:
        nonlocal message
        if message is not None and current is not None:
            current.messages.append(b"\r".join(message) + b"\r")
        message = None

    for seg in segments:
        if not seg:
            continue
        tag = seg[:3]
        if tag == b"FHS":
            if result.file_header is not None or result.batches:
                raise MalformedBatch("FHS must come first and only once")
            result.file_header, result.field_separator = _fields(seg)
            result.encoding_characters = result.file_header[1] or result.encoding_characters
        elif tag == b"BHS":
            close_message()
            fields, sep = _fields(seg)
            if result.file_header is None and not result.batches:
                result.field_separator = sep
                result.encoding_characters = fields[1] or result.encoding_characters
            current = Batch(header=fields)
            result.batches.append(current)
        elif tag == b"MSH":
            close_message()
            if current is None or current.declared is not None:
                current = Batch()  # messages without (or after) a BHS..BTS group
                result.batches.append(current)
            message = [seg]
        elif tag == b"BTS":
            close_message()
            if current is None:
                raise MalformedBatch("BTS without a batch")
            fields, _ = _fields(seg) if len(seg) > 4 else ([], "|")
            count = fields[1].strip() if len(fields) > 1 else ""
            if count and not count.isdigit():
                raise MalformedBatch(f"BTS-1 batch message count {count!r} is not a number")
            current.declared = int(count) if count else len(current.messages)
        elif tag == b"FTS":
            close_message()
        elif message is not None:
            message.append(seg)
        else:
            name = seg[:3].decode("latin-1", "replace")
            raise MalformedBatch(f"segment {name!r} outside any message (no MSH before it)")
    close_message()
    return result


def receive_batch(
    pipeline: Receives,
    raw: bytes,
    peer: str = "",
    now: Callable[[], datetime] | None = None,
    progress: Progress | None = None,
) -> BatchResult:
    """Receive every message of a batch through ``pipeline`` and build the batch ACK."""
    from config.db import utcnow

    clock = now or utcnow
    try:
        parsed = split_batch(raw)
    except MalformedBatch as exc:
        # Nothing can be split out: journal the whole thing as rejected, answer with one ACK
        # inside a batch envelope.
        outcome = pipeline.reject(raw, peer, AckError("100", str(exc)))
        result = MessageResult("", "AR", outcome.ack)
        ack = _envelope(BatchFile(None, [Batch()]), [[result]], [str(exc)], clock())
        return BatchResult(ack, [result], [str(exc)])

    total = parsed.message_count
    done = 0
    per_batch: list[list[MessageResult]] = []
    count_errors: list[str] = []
    for batch in parsed.batches:
        results: list[MessageResult] = []
        problem = batch.count_error
        if problem:
            count_errors.append(problem)
        for message in batch.messages:
            if problem:
                outcome = pipeline.reject(message, peer, AckError("100", problem))
            else:
                outcome = pipeline.process(message, peer)
            results.append(MessageResult(_control_id(message), outcome.code, outcome.ack))
            done += 1
            if progress is not None:
                progress(done, total)
        per_batch.append(results)
    ack = _envelope(parsed, per_batch, count_errors, clock())
    return BatchResult(ack, [r for rs in per_batch for r in rs], count_errors)


def _control_id(message: bytes) -> str:
    try:
        return read_header(message).control_id
    except MalformedHeader:
        return ""


def _our_id(now: datetime) -> str:
    return f"WBB{now:%Y%m%d%H%M%S}{next(_counter) % 1_000_000:06d}"


def _envelope(
    parsed: BatchFile,
    per_batch: list[list[MessageResult]],
    count_errors: list[str],
    now: datetime,
) -> bytes:
    fs, enc = parsed.field_separator, parsed.encoding_characters
    stamp = now.strftime("%Y%m%d%H%M%S")

    def header(tag: str, theirs: list[str] | None) -> str:
        def their(n: int) -> str:
            return theirs[n - 1] if theirs is not None and len(theirs) >= n else ""

        # FHS/BHS-3/4 us, -5/6 them, -7 time, -11 our control id, -12 theirs (the reference)
        fields = [tag, enc, OUR_APPLICATION, OUR_FACILITY, their(3), their(4), stamp]
        fields += ["", "", "", _our_id(now), their(11)]
        while fields[-1] == "":
            fields.pop()
        return fs.join(fields)

    out: list[bytes] = []
    if parsed.file_header is not None:
        out.append(header("FHS", parsed.file_header).encode("latin-1") + b"\r")
    for batch, results in zip(parsed.batches, per_batch, strict=True):
        out.append(header("BHS", batch.header).encode("latin-1") + b"\r")
        for r in results:
            out.append(r.ack if r.ack.endswith(b"\r") else r.ack + b"\r")
        comment = _comment(results, batch.count_error)
        out.append(fs.join(["BTS", str(len(results)), escape(comment, fs, enc)]).encode() + b"\r")
    if parsed.file_header is not None:
        comment = "; ".join(count_errors)
        fts = ["FTS", str(len(per_batch))] + ([escape(comment, fs, enc)] if comment else [])
        out.append(fs.join(fts).encode() + b"\r")
    return b"".join(out)


def _comment(results: list[MessageResult], count_error: str | None) -> str:
    """BTS-2: how many were accepted, and which were not (by MSH-10)."""
    if count_error:
        return count_error
    failed = [r for r in results if r.code not in ACCEPTED]
    text = f"{len(results) - len(failed)} of {len(results)} accepted"
    if failed:
        text += "; not accepted: " + ", ".join(f"{r.control_id or '?'} {r.code}" for r in failed)
    return text
