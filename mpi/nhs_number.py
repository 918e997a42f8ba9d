"""NHS numbers: normalising, checking and formatting.

A number that passes the modulus 11 check is not necessarily a real one: 000 000 0000 and every
other all-same-digit string pass it, and so do numbers in ranges that were never issued. Linking
two records on such a number would merge strangers, so those are rejected here, before any
matching sees them.

Ranges treated as issued (inclusive, as 10-digit numbers):

======================  ===========================  =========================================
range                   from - to                    issued by
======================  ===========================  =========================================
Scotland (CHI)          010 101 0000 - 311 299 9999  NHS Scotland, first six digits are DDMMYY
Northern Ireland        320 000 0000 - 399 999 9999  Health and Care number
England, Wales, IoM     400 000 0000 - 499 999 9999  NHS England / NHS Wales
England, Wales, IoM     600 000 0000 - 799 999 9999  NHS England / NHS Wales
test                    999 000 0000 - 999 999 9999  never issued; for test data (optional)
======================  ===========================  =========================================

Everything else (000 000 0000 - 010 100 9999, 311 300 0000 - 319 999 9999, the 5xx and 8xx
blocks, 900 000 0000 - 998 999 9999) is treated as never issued. The CHI range is checked as a
range only: the date inside a CHI number is not validated, since we would rather accept a rare
odd CHI number than reject a real Scottish patient.
"""

from __future__ import annotations

import re
from functools import lru_cache
from operator import mul

__all__ = [
    "ISSUED_RANGES",
    "TEST_RANGE",
    "InvalidNhsNumber",
    "check_digit",
    "format",
    "is_valid",
    "issuing_region",
    "normalise",
    "validate",
]

# (first, last, region): inclusive bounds on the number read as an integer.
ISSUED_RANGES: tuple[tuple[int, int, str], ...] = (
    (101_010_000, 3_112_999_999, "scotland"),
    (3_200_000_000, 3_999_999_999, "northern_ireland"),
    (4_000_000_000, 4_999_999_999, "england_wales"),
    (6_000_000_000, 7_999_999_999, "england_wales"),
)
TEST_RANGE: tuple[int, int, str] = (9_990_000_000, 9_999_999_999, "test")

_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
_SEPARATORS = re.compile(r"[\s\-]+")


class InvalidNhsNumber(ValueError):
    """Raised by `validate` with the reason a clerk or a sending system can act on."""


def normalise(text: str) -> str:
    """Strip the spaces and dashes people and systems type (``999 000 0018``, ``999-000-0018``)."""
    if text and text.isdigit():  # nothing to strip (most numbers, every stored one)
        return text
    return _SEPARATORS.sub("", text or "")


def check_digit(first_nine: str) -> int | None:
    """The modulus 11 check digit for nine digits, or None when the result is 10 (never issued)."""
    if len(first_nine) != len(_WEIGHTS):
        raise ValueError("check_digit takes the first nine digits")
    total = sum(map(mul, map(int, first_nine), _WEIGHTS))
    digit = 11 - total % 11
    if digit == 11:
        return 0
    if digit == 10:
        return None
    return digit


def issuing_region(nhs: str, *, allow_test_range: bool = True) -> str | None:
    """Which range a normalised 10-digit number falls in, or None if never issued."""
    value = int(nhs)
    for first, last, region in ISSUED_RANGES:
        if first <= value <= last:
            return region
    if allow_test_range and TEST_RANGE[0] <= value <= TEST_RANGE[1]:
        return TEST_RANGE[2]
    return None


@lru_cache(maxsize=1 << 16)
def _problem(nhs: str, allow_test_range: bool) -> str | None:
    """The reason a normalised number is unusable, or None if it is fine.

    Cached: matching validates the same numbers over and over (every candidate of every
    search), and the answer for a string never changes.
    """
    if len(nhs) != 10 or not nhs.isascii() or not nhs.isdigit():
        return "an NHS number has exactly 10 digits"
    if len(set(nhs)) == 1:
        return "all ten digits are the same; such numbers pass the check digit but are never issued"
    expected = check_digit(nhs[:9])
    if expected is None:
        return "the check digit would be 10, so this number is never issued"
    if expected != int(nhs[9]):
        return f"the check digit is wrong (expected {expected}, found {nhs[9]})"
    if issuing_region(nhs, allow_test_range=allow_test_range) is None:
        if TEST_RANGE[0] <= int(nhs) <= TEST_RANGE[1]:
            return "the number is in the 999 test range, which is not accepted here"
        return "the number is in a range that has never been issued"
    return None


def is_valid(nhs: str | None, *, allow_test_range: bool = True) -> bool:
    """True if the number (spaces and dashes allowed) could belong to a real or test patient."""
    if not nhs:
        return False
    return _problem(normalise(nhs), allow_test_range) is None


def validate(nhs: str | None, *, allow_test_range: bool = True) -> str:
    """Return the normalised 10-digit number, or raise `InvalidNhsNumber` saying why not."""
    if not nhs or not normalise(nhs):
        raise InvalidNhsNumber("no NHS number given")
    value = normalise(nhs)
    problem = _problem(value, allow_test_range)
    if problem is not None:
        raise InvalidNhsNumber(f"{nhs!r} is not a valid NHS number: {problem}")
    return value


def format(nhs: str) -> str:
    """Group the digits 3-3-4 as printed on NHS letters and cards: ``999 000 0018``."""
    value = normalise(nhs)
    if len(value) != 10:
        return value
    return f"{value[:3]} {value[3:6]} {value[6:]}"
