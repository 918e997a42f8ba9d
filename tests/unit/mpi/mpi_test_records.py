"""Synthetic records for the matching tests (NHS numbers from the 999 test range only)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from mpi.matching.record import PersonRecord

VALID_TEST_NUMBERS = ("9990000018", "9990000026", "9990000034", "9990000042")

BASE = PersonRecord(
    record_id="A",
    nhs_number=None,
    family_name="Ackworth",
    given_names="Margaret Anne",
    dob=date(1948, 3, 7),
    sex="F",
    postcode="M41 5SL",
    address_line="12 Acre Road",
)


def record(record_id: str = "B", **changes: object) -> PersonRecord:
    """The base person, changed as the test needs."""
    return replace(BASE, record_id=record_id, **changes)
