"""Normalising names, postcodes and address lines before they are compared or turned into keys.

Records arrive typed by A&E clerks, GP systems and old PAS extracts, so the same name turns up
as "O'Brien", "OBRIEN" and "O Brien", and the same postcode as "m41 5sl" and "M415SL". Every
comparison and blocking key goes through these functions so that such differences never count
as disagreement.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "compact_name",
    "family_name_parts",
    "fold_accents",
    "given_name_tokens",
    "normalise_address_line",
    "normalise_name",
    "normalise_postcode",
    "postcode_outward",
]

_APOSTROPHES = re.compile(r"['\u2019\u2018`\u00b4]")
_HYPHENS = re.compile(r"\s*[-\u2010\u2011\u2012\u2013\u2014]+\s*")
_NOT_NAME = re.compile(r"[^A-Z\- ]+")
_SPACES = re.compile(r"\s+")
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_ADDRESS_NOISE = re.compile(r"[^A-Z0-9 ]+")
_ADDRESS_WORDS = {
    "ROAD": "RD",
    "STREET": "ST",
    "AVENUE": "AVE",
    "LANE": "LN",
    "DRIVE": "DR",
    "CLOSE": "CL",
    "COURT": "CT",
    "CRESCENT": "CRES",
    "PLACE": "PL",
    "GARDENS": "GDNS",
    "GROVE": "GR",
    "TERRACE": "TER",
    "FLAT": "FL",
    "APARTMENT": "FL",
}


def fold_accents(text: str) -> str:
    """Drop diacritics (Siân -> Sian, Zoë -> Zoe) so that keyboards without them still match."""
    if text.isascii():  # nothing to fold (NFKD leaves ASCII as it is): most names and addresses
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# Names, postcodes and address lines repeat across records (a 1.4 million-row GP list holds a
# few thousand distinct names), and preparing a record normalises each of them several times:
# the string-level results are cached (bounded), so a record costs dictionary look-ups.
_CACHE = 1 << 17


@lru_cache(maxsize=_CACHE)
def normalise_name(text: str | None) -> str:
    """Upper-case, accent-free, apostrophes removed, hyphens kept without surrounding spaces.

    "o'brien" -> "OBRIEN", "Smith - Jones" -> "SMITH-JONES", " mary  anne " -> "MARY ANNE".
    Cached: names repeat (a search prepares up to 60 candidates, each name several times),
    and the accent folding and four expressions were most of preparing a record.
    """
    if not text:
        return ""
    folded = fold_accents(text).upper()
    folded = _APOSTROPHES.sub("", folded)
    folded = _HYPHENS.sub("-", folded)
    folded = _NOT_NAME.sub(" ", folded)
    folded = _SPACES.sub(" ", folded).strip(" -")
    return folded


def compact_name(text: str | None) -> str:
    """A name as letters only, for equality: "O'Brien" and "O Brien" both give "OBRIEN"."""
    return normalise_name(text).replace("-", "").replace(" ", "")


def family_name_parts(text: str | None) -> tuple[str, ...]:
    """The parts of a double-barrelled or spaced surname ("Smith-Jones" -> SMITH, JONES)."""
    name = normalise_name(text)
    if not name:
        return ()
    return tuple(part for part in re.split(r"[- ]", name) if part)


def given_name_tokens(text: str | None) -> tuple[str, ...]:
    """Each forename as letters only; a hyphenated forename stays one (MARY-ANNE -> MARYANNE)."""
    name = normalise_name(text)
    if not name:
        return ()
    return tuple(token.replace("-", "") for token in name.split(" ") if token.strip("-"))


@lru_cache(maxsize=_CACHE)
def normalise_postcode(text: str | None) -> str | None:
    """Upper-case with one space before the inward code ("m415sl" -> "M41 5SL").

    Text that does not look like a UK postcode is returned upper-case without spaces, so it can
    still be compared for equality; empty input gives None.
    """
    if not text:
        return None
    compact = re.sub(r"[^A-Z0-9]", "", text.upper())
    if not compact:
        return None
    match = _POSTCODE.match(compact)
    if match is None:
        return compact
    return f"{match.group(1)} {match.group(2)}"


def postcode_outward(text: str | None) -> str | None:
    """The outward code (district) of a postcode ("M41 5SL" -> "M41"), or None if it has none."""
    normalised = normalise_postcode(text)
    if normalised is None or " " not in normalised:
        return None
    return normalised.split(" ", 1)[0]


@lru_cache(maxsize=_CACHE)
def normalise_address_line(text: str | None) -> str:
    """Upper-case, no punctuation, street words abbreviated ("12 Acre Road" -> "12 ACRE RD")."""
    if not text:
        return ""
    folded = _ADDRESS_NOISE.sub(" ", fold_accents(text).upper())
    words = [_ADDRESS_WORDS.get(word, word) for word in folded.split()]
    return " ".join(words)
