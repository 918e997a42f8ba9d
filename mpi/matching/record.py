"""The demographic snapshot that matching compares, free of any database type.

The database layer builds one of these per stored record (or per person, from their current
and previous demographics) so that matching stays pure and testable without a session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

Sex = Literal["M", "F", "U"]
Suffix = Literal["JR", "SR"]


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """One record's identity fields as received (not yet normalised).

    ``given_names`` holds all forenames separated by spaces, the first being the one used for
    the forename comparison. ``previous_family_names`` and ``previous_postcodes`` carry the
    demographic history so that married names and moves still match. ``dob_placeholder`` is set
    when the sender said the date is a stand-in (for example 01-01 of an estimated year).
    """

    record_id: str
    nhs_number: str | None = None
    family_name: str = ""
    given_names: str = ""
    previous_family_names: tuple[str, ...] = ()
    dob: date | None = None
    dob_placeholder: bool = False
    sex: Sex | None = None
    postcode: str | None = None
    previous_postcodes: tuple[str, ...] = ()
    address_line: str | None = None
    suffix: Suffix | None = None
