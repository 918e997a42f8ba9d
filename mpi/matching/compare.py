"""Field comparators: each turns a pair of values into one discrete comparison level.

Fellegi-Sunter weights attach to levels, not to raw similarities, so every comparator answers
"how do these two values agree?" with a named level (``exact``, ``nickname``, ``swap``...) that a
records clerk can read. Similarity uses rapidfuzz (Jaro-Winkler for names, Levenshtein for
postcodes, token-set ratio for address lines).

Levels of each field, best first; ``missing`` always means "one side has no usable value" and
carries no weight either way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from mpi import nhs_number
from mpi.matching.nicknames import formal_names
from mpi.matching.prepared import PreparedRecord, prepare
from mpi.matching.record import PersonRecord

__all__ = [
    "FIELDS",
    "JW_HIGH",
    "JW_MID",
    "LEVELS",
    "FieldComparison",
    "address_level",
    "compare_address",
    "compare_dob",
    "compare_forename",
    "compare_levels",
    "compare_middle_names",
    "compare_nhs_number",
    "compare_records",
    "compare_sex",
    "compare_surname",
    "dob_is_swap",
    "dob_level",
    "forename_level",
    "lines_agree",
    "one_keystroke_apart",
    "surname_level",
]

FIELDS: tuple[str, ...] = (
    "nhs_number",
    "forename",
    "middle_names",
    "surname",
    "dob",
    "address",
    "sex",
)

LEVELS: dict[str, tuple[str, ...]] = {
    "nhs_number": ("exact", "different", "missing"),
    "forename": (
        "exact",
        "nickname",
        "transposed",
        "jw_high",
        "typo",
        "initial",
        "other_given",
        "jw_mid",
        "different",
        "missing",
    ),
    "middle_names": ("exact", "initial", "jw_high", "different", "missing"),
    "surname": (
        "exact",
        "previous",
        "transposed",
        "part",
        "jw_high",
        "phonetic",
        "jw_mid",
        "different",
        "missing",
    ),
    "dob": ("exact", "swap", "typo", "placeholder", "different", "missing"),
    "address": ("exact", "postcode", "previous", "typo", "outward", "different", "missing"),
    "sex": ("exact", "different", "missing"),
}

JW_HIGH = 0.90
"""Jaro-Winkler at or above this is a spelling slip (SARA/SARAH 0.96, JONATHAN/JOHNATHAN 0.90)."""
JW_MID = 0.80
"""Between JW_MID and JW_HIGH names are related but may be different people (JACK/JAKE 0.87)."""

TYPO_MIN_LENGTH = 4
"""Names shorter than this are not judged by keystrokes: one change turns TOM into TIM."""

_STRONG_FORENAME = frozenset({"exact", "nickname", "jw_high", "typo"})
_STRONG_SURNAME = frozenset({"exact", "previous", "part", "jw_high", "phonetic"})
_NUMBERS = re.compile(r"\d+[A-Z]?")


@dataclass(frozen=True, slots=True)
class FieldComparison:
    """How one field of two records compares; ``term`` is the agreed value for frequency weights."""

    field: str
    level: str
    value_a: str
    value_b: str
    term: str | None = None
    similarity: float | None = None


def _jw(a: str, b: str) -> float:
    return JaroWinkler.similarity(a, b)


def one_keystroke_apart(x: str, y: str) -> bool:
    """One letter changed, added or dropped, or two neighbours swapped (JOHN/JKHN, OSCAR/OSDAR).

    Jaro-Winkler rewards a shared beginning, so a slip near the start of a short name (JKHN
    0.83, HSIDI 0.87) scores like a different name; counting keystrokes does not care where the
    slip is. Both names need at least `TYPO_MIN_LENGTH` letters.
    """
    if min(len(x), len(y)) < TYPO_MIN_LENGTH or x == y:
        return False
    return OSA.distance(x, y, score_cutoff=1) == 1


def compare_nhs_number(a: PreparedRecord, b: PreparedRecord) -> FieldComparison:
    """exact / different (both valid) / missing (absent or invalid on either side)."""
    value_a = nhs_number.format(a.record.nhs_number) if a.record.nhs_number else ""
    value_b = nhs_number.format(b.record.nhs_number) if b.record.nhs_number else ""
    if a.nhs_number is None or b.nhs_number is None:
        level = "missing"
    elif a.nhs_number == b.nhs_number:
        level = "exact"
    else:
        level = "different"
    return FieldComparison("nhs_number", level, value_a, value_b)


def forename_level(a: PreparedRecord, b: PreparedRecord) -> tuple[str, float | None]:
    """``compare_forename``'s level and similarity without the displayed values (the score
    bound and the weights need only these)."""
    fa, fb = a.forename, b.forename
    if not fa or not fb:
        return "missing", None
    if fa == fb:
        return "exact", 1.0
    if a.forename_formal & b.forename_formal:
        return "nickname", None
    if len(fa) == 1 or len(fb) == 1:
        return ("initial" if fa[0] == fb[0] else "different"), None
    similarity = _jw(fa, fb)
    if similarity >= JW_HIGH:
        return "jw_high", similarity
    if one_keystroke_apart(fa, fb):
        return "typo", similarity
    if set(a.forenames) & set(b.forenames):
        return "other_given", similarity
    return ("jw_mid" if similarity >= JW_MID else "different"), similarity


def compare_forename(a: PreparedRecord, b: PreparedRecord) -> FieldComparison:
    """First forenames: exact, nickname, Jaro-Winkler, one keystroke apart, initial only, or a
    middle name in use."""
    level, similarity = forename_level(a, b)
    term = a.forename if level == "exact" else None
    return FieldComparison(
        "forename", level, a.record.given_names, b.record.given_names, term, similarity
    )


def _middle_level(a: PreparedRecord, b: PreparedRecord) -> tuple[str, float | None]:
    middle_a, middle_b = a.forenames[1:], b.forenames[1:]
    if not middle_a or not middle_b:
        return "missing", None
    if set(middle_a) & set(middle_b) or set(a.forenames) == set(b.forenames):
        return "exact", None
    if any(len(t) == 1 for t in (*middle_a, *middle_b)):
        initials_a = {t[0] for t in middle_a}
        initials_b = {t[0] for t in middle_b}
        return ("initial" if initials_a & initials_b else "different"), None
    similarity = max(_jw(x, y) for x in middle_a for y in middle_b)
    return ("jw_high" if similarity >= JW_HIGH else "different"), similarity


def compare_middle_names(a: PreparedRecord, b: PreparedRecord) -> FieldComparison:
    """Second and later given names: agree, agree on an initial, a slip, or differ.

    Two John Smiths born the same day rarely share a middle name too, so where both records
    carry one this separates namesakes from duplicates.
    """
    level, similarity = _middle_level(a, b)
    return FieldComparison(
        "middle_names",
        level,
        " ".join(a.forenames[1:]),
        " ".join(b.forenames[1:]),
        similarity=similarity,
    )


def _display_surname(record: PersonRecord) -> str:
    if record.previous_family_names:
        return f"{record.family_name} (formerly {', '.join(record.previous_family_names)})"
    return record.family_name


def surname_level(a: PreparedRecord, b: PreparedRecord) -> tuple[str, float | None]:
    """``compare_surname``'s level and similarity without the displayed values."""
    sa, sb = a.surname, b.surname
    if not sa or not sb:
        return "missing", None
    if sa == sb:
        return "exact", 1.0
    if (
        sa in b.previous_surnames
        or sb in a.previous_surnames
        or (set(a.previous_surnames) & set(b.previous_surnames))
    ):
        return "previous", None
    if (len(a.surname_parts) > 1 or len(b.surname_parts) > 1) and (
        set(a.surname_parts) & set(b.surname_parts)
    ):
        return "part", None
    similarity = _jw(sa, sb)
    if similarity >= JW_HIGH:
        level = "jw_high"
    elif a.surname_metaphone == b.surname_metaphone or a.surname_nysiis == b.surname_nysiis:
        level = "phonetic"
    elif similarity >= JW_MID:
        level = "jw_mid"
    else:
        level = "different"
    return level, similarity


def compare_surname(a: PreparedRecord, b: PreparedRecord) -> FieldComparison:
    """Family names, with previous names (marriage) and double-barrelled parts counted."""
    level, similarity = surname_level(a, b)
    term = a.surname if level == "exact" else None
    return FieldComparison(
        "surname",
        level,
        _display_surname(a.record),
        _display_surname(b.record),
        term,
        similarity,
    )


def _names_alike(x: str, y: str) -> bool:
    return bool(x) and bool(y) and (x == y or _jw(x, y) >= JW_HIGH or one_keystroke_apart(x, y))


def _forename_alike(name: str, record: PreparedRecord) -> bool:
    """``name`` (found in a surname field) is the record's forename, a slip or a nickname of it."""
    return _names_alike(name, record.forename) or bool(formal_names(name) & record.forename_formal)


def _transposed(a: PreparedRecord, b: PreparedRecord) -> bool:
    """Forename and surname entered the wrong way round on one record ("SMITH JOHN").

    The swapped names may carry the slips an unswapped name may: a keystroke (WESHURST RUYS
    against RHYS WESHURST) or a nickname (WESHURST ROB against ROBERT WESHURST).
    """
    return (_forename_alike(a.surname, b) and _names_alike(a.forename, b.surname)) or (
        _forename_alike(b.surname, a) and _names_alike(b.forename, a.surname)
    )


def dob_is_swap(a: PreparedRecord, b: PreparedRecord) -> bool:
    """Day and month exchanged (US-style entry): 03/07/1980 against 07/03/1980."""
    da, db = a.dob, b.dob
    if da is None or db is None:
        return False
    return da.year == db.year and da.day != da.month and da.day == db.month and da.month == db.day


def _one_keystroke(x: str, y: str) -> bool:
    """One digit changed, or two neighbouring digits exchanged, in DDMMYYYY.

    Between strings of one length that is an optimal-string-alignment distance of exactly 1
    (a substitution or an adjacent transposition; an insertion needs a deletion too)."""
    if len(x) != len(y) or x == y:
        return False
    return OSA.distance(x, y, score_cutoff=1) == 1


def _display_dob(record: PreparedRecord) -> str:
    if record.dob is None:
        return ""
    text = record.dob.isoformat()
    return f"{text} (placeholder)" if record.dob_placeholder else text


def _looks_like_placeholder(record: PreparedRecord) -> bool:
    dob = record.dob
    return record.dob_placeholder or (dob is not None and dob.day == 1 and dob.month == 1)


def dob_level(a: PreparedRecord, b: PreparedRecord) -> str:
    """``compare_dob``'s level without the displayed values (the score bound needs only it)."""
    if a.dob is None or b.dob is None:
        return "missing"
    if a.dob_placeholder or b.dob_placeholder:
        # A stand-in date says only "born about then": a year either way is all it offers.
        return "placeholder" if abs(a.dob.year - b.dob.year) <= 1 else "different"
    if a.dob == b.dob:
        return "exact"
    if dob_is_swap(a, b):
        return "swap"
    if _one_keystroke(a.dob_digits, b.dob_digits):
        return "typo"
    if (_looks_like_placeholder(a) or _looks_like_placeholder(b)) and abs(
        a.dob.year - b.dob.year
    ) <= 1:
        return "placeholder"
    return "different"


def compare_dob(a: PreparedRecord, b: PreparedRecord) -> FieldComparison:
    """exact, day/month swap, one-keystroke typo, placeholder (01-01 or flagged), different."""
    return FieldComparison("dob", dob_level(a, b), _display_dob(a), _display_dob(b))


def lines_agree(line_a: str, line_b: str) -> bool:
    """Same first address line: house numbers equal (flat 2 is not flat 3) and words alike."""
    if not line_a or not line_b:
        return False
    if line_a == line_b:
        return True
    numbers_a, numbers_b = _NUMBERS.findall(line_a), _NUMBERS.findall(line_b)
    if numbers_a and numbers_b and numbers_a != numbers_b:
        return False
    return fuzz.token_set_ratio(line_a, line_b) >= 85


def _display_address(record: PreparedRecord) -> str:
    parts = [p for p in (record.record.address_line, record.postcode) if p]
    text = ", ".join(parts)
    if record.previous_postcodes:
        text += f" (previously {', '.join(record.previous_postcodes)})"
    return text


def address_level(a: PreparedRecord, b: PreparedRecord) -> str:
    """``compare_address``'s level without the displayed values."""
    pa, pb = a.postcode, b.postcode
    if not pa or not pb:
        return "missing"
    if pa == pb:
        return "exact" if lines_agree(a.address_line, b.address_line) else "postcode"
    if (pa in b.previous_postcodes or pb in a.previous_postcodes) or (
        a.previous_postcodes
        and b.previous_postcodes
        and not set(a.previous_postcodes).isdisjoint(b.previous_postcodes)
    ):
        return "previous"
    if Levenshtein.distance(pa.replace(" ", ""), pb.replace(" ", "")) == 1:
        return "typo"
    outwards_a = {a.outward, *a.previous_outwards} - {None}
    outwards_b = {b.outward, *b.previous_outwards} - {None}
    if outwards_a & outwards_b:
        return "outward"
    return "different"


def compare_address(a: PreparedRecord, b: PreparedRecord) -> FieldComparison:
    """Where they live: same address or postcode, a previous postcode, a postcode typo, district."""
    level = address_level(a, b)
    term = a.postcode if level in ("exact", "postcode") else None
    return FieldComparison("address", level, _display_address(a), _display_address(b), term)


def compare_sex(a: PreparedRecord, b: PreparedRecord) -> FieldComparison:
    """Administrative sex: exact / different; unknown (U) counts as missing."""
    value_a, value_b = a.record.sex or "", b.record.sex or ""
    if a.sex is None or b.sex is None:
        level = "missing"
    else:
        level = "exact" if a.sex == b.sex else "different"
    return FieldComparison("sex", level, value_a, value_b)


def compare_records(
    a: PersonRecord | PreparedRecord, b: PersonRecord | PreparedRecord
) -> tuple[FieldComparison, ...]:
    """Every field compared, in `FIELDS` order, with forename/surname transposition detected."""
    pa, pb = prepare(a), prepare(b)
    forename = compare_forename(pa, pb)
    surname = compare_surname(pa, pb)
    if not (forename.level in _STRONG_FORENAME and surname.level in _STRONG_SURNAME) and (
        _transposed(pa, pb)
    ):
        forename = FieldComparison("forename", "transposed", forename.value_a, forename.value_b)
        surname = FieldComparison("surname", "transposed", surname.value_a, surname.value_b)
    return (
        compare_nhs_number(pa, pb),
        forename,
        compare_middle_names(pa, pb),
        surname,
        compare_dob(pa, pb),
        compare_address(pa, pb),
        compare_sex(pa, pb),
    )


def _either_level(a: str | None, b: str | None) -> str:
    """NHS number and sex: missing, exact or different."""
    if a is None or b is None:
        return "missing"
    return "exact" if a == b else "different"


def compare_levels(a: PreparedRecord, b: PreparedRecord) -> dict[str, str]:
    """``{field: level}`` of ``compare_records(a, b)`` without the displayed values, for the
    checks that read only the levels (``mpi.resolve.record_contradicts``)."""
    forename = forename_level(a, b)[0]
    surname = surname_level(a, b)[0]
    if not (forename in _STRONG_FORENAME and surname in _STRONG_SURNAME) and _transposed(a, b):
        forename = surname = "transposed"
    return {
        "nhs_number": _either_level(a.nhs_number, b.nhs_number),
        "forename": forename,
        "middle_names": _middle_level(a, b)[0],
        "surname": surname,
        "dob": dob_level(a, b),
        "address": address_level(a, b),
        "sex": _either_level(a.sex, b.sex),
    }
