"""A record normalised once, so that scoring thousands of candidate pairs does no repeated work.

Blocking and comparison both need the upper-cased names, phonetic codes, nickname roots and
postcode districts of a record. Computing them per pair would dominate the cost of a search;
computing them once per record keeps a comparison to a few string-similarity calls.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from functools import lru_cache
from operator import attrgetter

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

__all__ = ["PreparedRecord", "prepare", "with_record"]


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
    """Normalise a record for blocking and comparison (a prepared record is returned as is).

    Every part is worked out per value and cached (``_given``, ``_family``, ``_postcodes``,
    ``_nhs``...): a GP list of 1.4 million people holds a few thousand distinct names, and a
    run prepares each person's record several times (the row, the patient it makes, the
    candidate it becomes), so most of a record is dictionary look-ups."""
    if isinstance(record, PreparedRecord):
        return record
    nhs, nhs_given = _nhs(record.nhs_number, allow_test_range) if record.nhs_number else _NO_NHS
    forenames, forename, formal = _given(record.given_names)
    surname, parts, surname_metaphone, surname_nysiis = _family(record.family_name)
    previous = (
        _previous_surnames(tuple(record.previous_family_names))
        if record.previous_family_names
        else ()
    )
    postcode, outward, previous_postcodes, previous_outwards = _postcodes(
        record.postcode, tuple(record.previous_postcodes)
    )
    return PreparedRecord(
        record=record,
        nhs_number=nhs,
        nhs_number_given=nhs_given,
        forenames=forenames,
        forename=forename,
        forename_formal=formal,
        surname=surname,
        surname_parts=parts,
        previous_surnames=previous,
        surname_metaphone=surname_metaphone,
        surname_nysiis=surname_nysiis,
        dob=record.dob,
        dob_digits=_dob_digits(record.dob),
        dob_placeholder=bool(record.dob_placeholder),
        sex=_SEXES.get(record.sex) if record.sex else None,
        postcode=postcode,
        outward=outward,
        previous_postcodes=previous_postcodes,
        previous_outwards=previous_outwards,
        address_line=normalise_address_line(record.address_line),
        suffix=record.suffix.upper() if record.suffix else None,
    )


def with_record(prepared: PreparedRecord, record: PersonRecord) -> PreparedRecord:
    """``replace(prepared, record=record)`` for a record that prepares alike (the same fields
    under another id), without ``dataclasses.replace``'s per-field work."""
    return PreparedRecord(record, *_NOT_RECORD(prepared))


_NOT_RECORD = attrgetter(*(f.name for f in fields(PreparedRecord) if f.name != "record"))
# What ``sex.upper()`` keeps (anything else is unknown).
_SEXES = {"M": "M", "F": "F", "m": "M", "f": "F"}
_NO_NHS: tuple[str | None, bool] = (None, False)
_CACHE = 1 << 17


@lru_cache(maxsize=_CACHE)
def _nhs(text: str, allow_test_range: bool) -> tuple[str | None, bool]:
    """The valid normalised number (or None) and whether any number was given."""
    nhs = (
        nhs_number.normalise(text)
        if nhs_number.is_valid(text, allow_test_range=allow_test_range)
        else None
    )
    return nhs, bool(nhs_number.normalise(text))


@lru_cache(maxsize=_CACHE)
def _given(given_names: str) -> tuple[tuple[str, ...], str, frozenset[str]]:
    """Forenames, the first one, and the formal names it may stand for."""
    forenames = given_name_tokens(given_names)
    forename = forenames[0] if forenames else ""
    return forenames, forename, formal_names(forename) if forename else frozenset()


@lru_cache(maxsize=_CACHE)
def _family(family_name: str) -> tuple[str, tuple[str, ...], str, str]:
    """Surname (letters only), its parts and its two phonetic codes."""
    surname = compact_name(family_name)
    return surname, family_name_parts(family_name), metaphone(surname), nysiis(surname)


@lru_cache(maxsize=_CACHE)
def _previous_surnames(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for name in (compact_name(n) for n in names) if name))


@lru_cache(maxsize=_CACHE)
def _postcodes(
    text: str | None, previous: tuple[str, ...]
) -> tuple[str | None, str | None, tuple[str, ...], tuple[str, ...]]:
    """Postcode, its district, the previous postcodes other than it and their districts."""
    postcode = normalise_postcode(text)
    previous_postcodes = tuple(
        dict.fromkeys(
            pc for pc in (normalise_postcode(p) for p in previous) if pc and pc != postcode
        )
    )
    previous_outwards = tuple(
        dict.fromkeys(out for out in (postcode_outward(p) for p in previous_postcodes) if out)
    )
    return postcode, postcode_outward(postcode), previous_postcodes, previous_outwards


@lru_cache(maxsize=_CACHE)
def _dob_digits(dob: date | None) -> str:
    """DDMMYYYY, the order clerks type, so that a one-key slip is one changed character."""
    if dob is None:
        return ""
    return f"{dob.day:02d}{dob.month:02d}{dob.year:04d}"
