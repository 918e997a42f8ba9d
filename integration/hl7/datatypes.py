"""HL7 date/time (DTM/TS) and date (DT) values to Python.

A timestamp without an offset is the sender's local time, which for our senders is the
hospital's time zone; we attach it before converting to UTC, so a 01:30 during the autumn
clock change is read as the first 01:30 (fold=0) rather than silently shifting an hour.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

_DTM = re.compile(
    r"^(?P<y>\d{4})(?P<mo>\d{2})?(?P<d>\d{2})?(?P<h>\d{2})?(?P<mi>\d{2})?(?P<s>\d{2})?"
    r"(?:\.(?P<frac>\d{1,4}))?(?P<tz>[+-]\d{4})?$"
)


class BadTimestamp(ValueError):
    pass


def parse_dtm(value: str, local_tz: ZoneInfo) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    match = _DTM.match(value)
    if not match:
        raise BadTimestamp(f"{value!r} is not an HL7 date/time (YYYYMMDDHHMMSS[+ZZZZ])")
    g = match.groupdict()
    try:
        naive = datetime(
            int(g["y"]),
            int(g["mo"] or 1),
            int(g["d"] or 1),
            int(g["h"] or 0),
            int(g["mi"] or 0),
            int(g["s"] or 0),
            int((g["frac"] or "0").ljust(6, "0")[:6]),
        )
    except ValueError as exc:
        raise BadTimestamp(f"{value!r}: {exc}") from None
    if g["tz"]:
        sign = 1 if g["tz"][0] == "+" else -1
        offset = timedelta(hours=int(g["tz"][1:3]), minutes=int(g["tz"][3:5]))
        return naive.replace(tzinfo=timezone(sign * offset)).astimezone(UTC)
    return naive.replace(tzinfo=local_tz).astimezone(UTC)


def parse_date(value: str) -> date | None:
    value = value.strip()[:8]
    if not value:
        return None
    if len(value) != 8 or not value.isdigit():
        raise BadTimestamp(f"{value!r} is not an HL7 date (YYYYMMDD)")
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError as exc:
        raise BadTimestamp(f"{value!r}: {exc}") from None


def format_dtm(moment: datetime, local_tz: ZoneInfo) -> str:
    """Local time with its offset, which every receiver can read unambiguously."""
    local = moment.astimezone(local_tz)
    return local.strftime("%Y%m%d%H%M%S%z")
