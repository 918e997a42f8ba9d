"""Veto rules: evidence that two records may be different people, whatever the score says.

A Fellegi-Sunter score adds up agreement, and twins agree on almost everything. These rules
look for the specific patterns where a high score is known to mislead. A veto never makes two
records "different people"; it stops an automatic link and sends the pair to a records clerk
(a vetoed pair that scored below the review threshold stays a new person).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mpi.matching.compare import FieldComparison, compare_records, dob_is_swap, lines_agree
from mpi.matching.prepared import PreparedRecord, prepare
from mpi.matching.record import PersonRecord

if TYPE_CHECKING:
    from mpi.matching.weights import TermFrequencies

__all__ = [
    "DEFAULT_VETO_RULES",
    "VETO_CODES",
    "Veto",
    "VetoRules",
    "find_vetoes",
    "vetoes_for_levels",
]

VETO_CODES: tuple[str, ...] = (
    "nhs_number_conflict",
    "twins",
    "dob_far_apart",
    "generation_suffix",
    "ambiguous",
)


@dataclass(frozen=True, slots=True)
class Veto:
    """A rule that fired, with the sentence a clerk sees."""

    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class VetoRules:
    """Which rules apply, and how far apart two dates of birth may be before they veto.

    ``dob_gap_days`` defaults to 366: dates more than a year apart veto unless they are a
    day/month swap, so a slip of one in the last digit of the year (1985/1986) does not veto but
    1985/1995 does (that pair can still reach the review queue).

    ``rare_name_share``: two forenames one keystroke apart are taken for a misspelling (not
    twins) only when one of them is held by fewer than this share of the index's records; two
    established names (DEAN/SEAN, JADE/JANE) still look like twins. Without term frequencies
    a one-keystroke difference always looks like twins.
    """

    nhs_number_conflict: bool = True
    twins: bool = True
    dob_far_apart: bool = True
    generation_suffix: bool = True
    dob_gap_days: int = 366
    rare_name_share: float = 1e-4


DEFAULT_VETO_RULES = VetoRules()

# A forename "differs" here unless it clearly agrees: agreement only on a middle name proves
# nothing (twins are often given each other's first name as a middle name), and an initial
# fits either twin.
_DIFFERENT_FORENAME = frozenset({"different", "jw_mid", "other_given", "initial"})
# A slip in one twin's record (surname, date of birth or postcode) must not hide the twins.
_SAME_DOB = frozenset({"exact", "swap", "typo"})
_SAME_HOME = frozenset({"exact", "postcode", "typo", "previous"})
_SAME_SURNAME = frozenset({"exact", "previous", "part", "jw_high", "phonetic"})


def _stand_in_date(levels: dict[str, str]) -> bool:
    """A 01-01 date within a year of the other (level ``placeholder``) on a pair whose surnames
    agree: a stand-in date, not a date years apart. Where the surnames differ the veto stays,
    so two people at one address sharing a first name are not linked on a stand-in date."""
    return levels.get("dob") == "placeholder" and levels.get("surname") in (
        _SAME_SURNAME | {"transposed"}
    )


def _misspelt(
    a: PreparedRecord, b: PreparedRecord, frequencies: TermFrequencies | None, rare: float
) -> bool:
    """One of two forenames a keystroke apart is one the index hardly holds: a misspelling.

    JKHN is a slip of JOHN; DEAN and SEAN are two names, and twins may carry them.
    """
    if frequencies is None:
        return False
    share = min(
        frequencies.frequency("forename", a.forename), frequencies.frequency("forename", b.forename)
    )
    return share < rare


def _forename_differs(
    a: PreparedRecord,
    b: PreparedRecord,
    levels: dict[str, str],
    frequencies: TermFrequencies | None,
    rules: VetoRules,
) -> bool:
    level = levels.get("forename")
    if level == "typo":
        return not _misspelt(a, b, frequencies, rules.rare_name_share)
    return level in _DIFFERENT_FORENAME


def _sex_differs(a: PreparedRecord, b: PreparedRecord, levels: dict[str, str]) -> bool:
    """Different recorded sex, unless the full forename is the same and no middle name differs.

    A boy and a girl born together are not given one forename, so JORDAN M against JORDAN F
    at one address and birth date is a sex recorded wrongly; a gendered pair of names
    (LOUIS/LOUISE, a nickname, a slip) still counts as twins.
    """
    if a.sex is None or b.sex is None or a.sex == b.sex:
        return False
    same_name = levels.get("forename") == "exact" and len(a.forename) > 1
    return not (same_name and levels.get("middle_names") != "different")


def _twins(
    a: PreparedRecord,
    b: PreparedRecord,
    levels: dict[str, str],
    frequencies: TermFrequencies | None = None,
    rules: VetoRules = DEFAULT_VETO_RULES,
) -> bool:
    """Same surname, date of birth and address (or slips of them); different forename or sex.

    Twins have two NHS numbers, so two records carrying the same valid number are not twins.
    """
    if levels.get("surname") not in _SAME_SURNAME:
        return False
    if a.nhs_number is not None and a.nhs_number == b.nhs_number:
        return False
    if levels.get("dob") not in _SAME_DOB or a.dob_placeholder or b.dob_placeholder:
        return False
    # Same address, or no address on one side to tell: twins with one record lacking a postcode
    # are still twins.
    if a.postcode and b.postcode:
        if levels.get("address") not in _SAME_HOME:
            return False
        if (
            a.postcode == b.postcode
            and a.address_line
            and b.address_line
            and not lines_agree(a.address_line, b.address_line)
        ):
            return False
    return _forename_differs(a, b, levels, frequencies, rules) or _sex_differs(a, b, levels)


def find_vetoes(
    a: PersonRecord | PreparedRecord,
    b: PersonRecord | PreparedRecord,
    comparisons: tuple[FieldComparison, ...] | None = None,
    rules: VetoRules = DEFAULT_VETO_RULES,
    term_frequencies: TermFrequencies | None = None,
) -> tuple[Veto, ...]:
    """Every veto that applies to the pair (empty when none does).

    ``term_frequencies`` (the model's) let the twins rule tell a misspelt forename from a
    twin's name; without them it treats every one-keystroke difference as a twin's name.
    """
    pa, pb = prepare(a), prepare(b)
    if comparisons is None:
        comparisons = compare_records(pa, pb)
    return vetoes_for_levels(
        pa, pb, {c.field: c.level for c in comparisons}, rules, term_frequencies
    )


def vetoes_for_levels(
    pa: PreparedRecord,
    pb: PreparedRecord,
    levels: dict[str, str],
    rules: VetoRules = DEFAULT_VETO_RULES,
    term_frequencies: TermFrequencies | None = None,
) -> tuple[Veto, ...]:
    """``find_vetoes`` from the pair's levels (``compare_levels``) and prepared records."""
    found: list[Veto] = []
    if (
        rules.nhs_number_conflict
        and pa.nhs_number is not None
        and pb.nhs_number is not None
        and pa.nhs_number != pb.nhs_number
    ):
        found.append(
            Veto(
                "nhs_number_conflict",
                "both records carry a valid NHS number and the numbers differ",
            )
        )
    if rules.twins and _twins(pa, pb, levels, term_frequencies, rules):
        found.append(
            Veto(
                "twins",
                "same surname, date of birth and address but a different forename or sex: "
                "possibly twins",
            )
        )
    if (
        rules.dob_far_apart
        and pa.dob is not None
        and pb.dob is not None
        and not pa.dob_placeholder
        and not pb.dob_placeholder
        and not _stand_in_date(levels)
        and abs((pa.dob - pb.dob).days) > rules.dob_gap_days
        and not dob_is_swap(pa, pb)
    ):
        years = abs((pa.dob - pb.dob).days) / 365.25
        found.append(
            Veto(
                "dob_far_apart",
                f"dates of birth are {years:.1f} years apart and not a day/month swap",
            )
        )
    if rules.generation_suffix and pa.suffix and pb.suffix and pa.suffix != pb.suffix:
        found.append(
            Veto(
                "generation_suffix",
                f"one record is {pa.suffix} and the other {pb.suffix}: possibly father and son",
            )
        )
    return tuple(found)
