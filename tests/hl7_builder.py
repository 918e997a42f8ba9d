"""Building HL7 ADT test messages with just the fields a test cares about."""

from __future__ import annotations

import itertools

_ids = itertools.count(1)


def adt(
    trigger: str = "A01",
    *,
    control_id: str | None = None,
    hospital_number: str = "RM3000001",
    nhs_number: str | None = "9990000018",
    family: str = "JONES",
    given: str = "John",
    dob: str = "19580312",
    sex: str = "M",
    patient_class: str = "I",
    location: str = "AMU^A^A1",
    prior_location: str = "",
    doctor: str = "C1234567^OKAFOR^Adaeze^^^Dr",
    visit: str = "V0001",
    admit_time: str = "20261122091500",
    discharge_time: str = "",
    event_time: str = "20261122091500",
    charset: str = "UNICODE UTF-8",
    encoding: str = "utf-8",
    version: str = "2.5.1",
    sender: str = "PAS",
    facility: str = "WGH",
    segment_separator: str = "\r",
) -> bytes:
    cid = control_id or f"T{next(_ids):08d}"
    pid3 = f"{hospital_number}^^^WGH^MR"
    if nhs_number:
        pid3 += f"~{nhs_number}^^^NHS^NH"
    pv1 = [""] * 46
    pv1[:4] = ["PV1", "1", patient_class, location]
    pv1[6] = prior_location
    pv1[7] = doctor
    pv1[19] = visit
    pv1[44] = admit_time
    pv1[45] = discharge_time
    segments = [
        f"MSH|^~\\&|{sender}|{facility}|WARDBOARD|WGH|{event_time}||ADT^{trigger}^ADT_A01|{cid}|P|"
        f"{version}|||AL|NE||{charset}",
        f"EVN|{trigger}|{event_time}",
        f"PID|1||{pid3}||{family}^{given}||{dob}|{sex}|||1 Church Road^^Sale^^M33 7XX",
        "|".join(pv1).rstrip("|"),
    ]
    return (segment_separator.join(segments) + segment_separator).encode(encoding)


def ack_code(ack: bytes) -> str:
    for segment in ack.split(b"\r"):
        if segment.startswith(b"MSA"):
            return segment.split(b"|")[1].decode()
    raise AssertionError(f"no MSA in {ack!r}")


def ack_segment(ack: bytes, name: str) -> list[str]:
    for segment in ack.split(b"\r"):
        if segment.startswith(name.encode()):
            return segment.decode("utf-8", "replace").split("|")
    raise AssertionError(f"no {name} in {ack!r}")


def swap(
    first: tuple[str, str, str, str],
    second: tuple[str, str, str, str],
    *,
    control_id: str | None = None,
    event_time: str = "20261122140000",
    second_pid: bool = True,
) -> bytes:
    """ADT^A17: two PID/PV1 pairs, each (hospital number, family name, location, visit)."""
    cid = control_id or f"T{next(_ids):08d}"
    segments = [
        f"MSH|^~\\&|PAS|WGH|WARDBOARD|WGH|{event_time}||ADT^A17^ADT_A17|{cid}|P|2.5.1",
        f"EVN|A17|{event_time}",
    ]
    for n, (number, family, location, visit) in enumerate((first, second), start=1):
        if n == 2 and not second_pid:
            continue
        segments.append(f"PID|{n}||{number}^^^WGH^MR||{family}^Pat||19600101|F")
        segments.append(f"PV1|{n}|I|{location}" + "|" * 16 + visit)
    return ("\r".join(segments) + "\r").encode()


def batch(
    messages: list[bytes],
    *,
    count: int | None = None,
    file_header: bool = True,
    batch_id: str = "B0001",
    newline: bytes = b"\r",
) -> bytes:
    """An FHS/BHS ... BTS/FTS batch holding ``messages``; ``count`` overrides BTS-1."""
    declared = len(messages) if count is None else count
    out = []
    if file_header:
        out.append(b"FHS|^~\\&|PAS|WGH|WARDBOARD|WGH|20261122100000||||F0001")
    out.append(f"BHS|^~\\&|PAS|WGH|WARDBOARD|WGH|20261122100000||||{batch_id}".encode())
    for message in messages:
        out.extend(s for s in message.split(b"\r") if s)
    out.append(f"BTS|{declared}".encode())
    if file_header:
        out.append(b"FTS|1")
    return newline.join(out) + newline


def segments(reply: bytes, name: str) -> list[list[str]]:
    """Every ``name`` segment of a reply, split into fields."""
    return [
        s.decode("utf-8", "replace").split("|")
        for s in reply.split(b"\r")
        if s.startswith(name.encode())
    ]
