"""A record normalised once, so that scoring thousands of candidate pairs does no repeated work.

Blocking and comparison both need the upper-cased names, phonetic codes, nickname roots and
postcode districts of a record. Computing them per pair would dominate the cost of a search;
computing them once per record keeps a comparison to a few string-similarity calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from mpi import nhs_number
from mpi.matching.nicknames import formal_names
from mpi.matching.normalise import (
    compact_name,
    family_name_parts,
    given_name_tokens,
    normalise_address_line,
    normalise_postcode,
    postcode_outward,
)
from mpi.matching.phonetic import metaphone, nysiis
from mpi.matching.record import PersonRecord

__all__ = ["PreparedRecord", "prepare"]


@dataclass(frozen=True, slots=True)
class PreparedRecord:
    """Normalised views of one `PersonRecord`; build with `prepare`."""

    record: PersonRecord
    nhs_number: str | None
    nhs_number_given: bool
    forenames: tuple[str, ...]
    forename: str
    forename_formal: frozenset[str]
    surname: str
    surname_parts: tuple[str, ...]
    previous_surnames: tuple[str, ...]
    surname_metaphone: str
    surname_nysiis: str
    dob: date | None
    dob_digits: str
    dob_placeholder: bool
    sex: str | None
    postcode: str | None
    outward: str | None
    previous_postcodes: tuple[str, ...]
    previous_outwards: tuple[str, ...]
    address_line: str
    suffix: str | None

    @property
    def record_id(self) -> str:
        return self.record.record_id


def prepare(
    record: PersonRecord | PreparedRecord, *, allow_test_range: bool = True
) -> PreparedRecord:
    """Normalise a record for blocking and comparison (a prepared record is returned as is)."""
    if isinstance(record, PreparedRecord):
        return record
    nhs = None
    if record.nhs_number and nhs_number.is_valid(
        record.nhs_number, allow_test_range=allow_test_range
    ):
        nhs = nhs_number.normalise(record.nhs_number)
    forenames = given_name_tokens(record.given_names)
    forename = forenames[0] if forenames else ""
    surname = compact_name(record.family_name)
    previous = tuple(
        dict.fromkeys(
            name for name in (compact_name(n) for n in record.previous_family_names) if name
        )
    )
    postcode = normalise_postcode(record.postcode)
    previous_postcodes = tuple(
        dict.fromkeys(
            pc
            for pc in (normalise_postcode(p) for p in record.previous_postcodes)
            if pc and pc != postcode
        )
    )
    previous_outwards = tuple(
        dict.fromkeys(out for out in (postcode_outward(p) for p in previous_postcodes) if out)
    )
    sex = record.sex.upper() if record.sex else None
    return PreparedRecord(
        record=record,
        nhs_number=nhs,
        nhs_number_given=bool(record.nhs_number and nhs_number.normalise(record.nhs_number)),
        forenames=forenames,
        forename=forename,
        forename_formal=formal_names(forename) if forename else frozenset(),
        surname=surname,
        surname_parts=family_name_parts(record.family_name),
        previous_surnames=previous,
        surname_metaphone=metaphone(surname),
        surname_nysiis=nysiis(surname),
        dob=record.dob,
        dob_digits=_dob_digits(record.dob),
        dob_placeholder=bool(record.dob_placeholder),
        sex=sex if sex in ("M", "F") else None,
        postcode=postcode,
        outward=postcode_outward(postcode),
        previous_postcodes=previous_postcodes,
        previous_outwards=previous_outwards,
        address_line=normalise_address_line(record.address_line),
        suffix=record.suffix.upper() if record.suffix else None,
    )


def _dob_digits(dob: date | None) -> str:
    """DDMMYYYY, the order clerks type, so that a one-key slip is one changed character."""
    if dob is None:
        return ""
    return f"{dob.day:02d}{dob.month:02d}{dob.year:04d}"
