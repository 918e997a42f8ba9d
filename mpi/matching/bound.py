"""An upper bound on a pair's score from the fields that are cheap to compare.

A search scores every candidate sharing a blocking key, but only candidates at or above the
review threshold survive ``best_matches`` (the new-person zone is dropped, and a veto only
ever lowers a zone). Most candidates in a large index share one name key and nothing else:
different date of birth, address and NHS number. Their exact score needs the name comparisons
(Jaro-Winkler, keystrokes, nicknames, transposition) and a full explanation; their bound needs
a few equality tests. A candidate whose bound is below the review threshold cannot be in the
result, so leaving it out before scoring gives the same decisions.

The bound takes each cheap field's exact weight (NHS number, date of birth, sex, and the
address unless its postcodes agree, where only the first-line comparison is skipped), and the
largest weight the model could give the names: both exact where both names are equal, else
the best of a non-transposed pair and a transposed one; no middle-name weight where one side
has none. Term-frequency adjustment can only add ``tf_max_bonus`` to an exact name, and the
household correction only lowers a surname's weight, so neither can lift a score above it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from mpi.matching.compare import (
    _STRONG_FORENAME,
    _STRONG_SURNAME,
    LEVELS,
    _transposed,
    address_level,
    dob_level,
    forename_level,
    surname_level,
)
from mpi.matching.prepared import PreparedRecord
from mpi.matching.weights import MatchModel

__all__ = ["ScoreBound"]

# A bound equal to the threshold must not prune a pair whose float sum lands a hair above it.
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class ScoreBound:
    """Per-model maximum weights; ``within_reach`` keeps the candidates worth scoring."""

    nhs: dict[str, float]
    forename: dict[str, float]  # level weights, exact with the largest term-frequency bonus
    surname: dict[str, float]
    dob: dict[str, float]
    address: dict[str, float]
    sex: dict[str, float]
    forename_exact: float
    surname_exact: float
    surname_any: float  # best surname weight without transposition
    names_any: float  # best forename + surname weights, transposed or not
    middle_max: float
    same_postcode: float  # best of the address levels a shared postcode can give

    @classmethod
    def for_model(cls, model: MatchModel) -> ScoreBound:
        def weights(field: str) -> dict[str, float]:
            return {level: model.level_weight(field, level) for level in LEVELS[field]}

        bonus = model.tf_max_bonus if model.term_frequencies is not None else 0.0
        forename, surname, address = weights("forename"), weights("surname"), weights("address")
        forename_exact = forename["exact"] + bonus
        surname_exact = surname["exact"] + bonus
        plain_forename = max(
            forename_exact, *(w for lv, w in forename.items() if lv not in ("exact", "transposed"))
        )
        plain_surname = max(
            surname_exact, *(w for lv, w in surname.items() if lv not in ("exact", "transposed"))
        )
        return cls(
            nhs=weights("nhs_number"),
            forename={**forename, "exact": forename_exact},
            surname={**surname, "exact": surname_exact},
            dob=weights("dob"),
            address=address,
            sex=weights("sex"),
            forename_exact=forename_exact,
            surname_exact=surname_exact,
            surname_any=plain_surname,
            names_any=max(
                plain_forename + plain_surname, forename["transposed"] + surname["transposed"]
            ),
            middle_max=max(weights("middle_names").values()),
            same_postcode=max(address["exact"], address["postcode"]),
        )

    def bound(self, a: PreparedRecord, b: PreparedRecord, threshold: float = -math.inf) -> float:
        """At least ``score_pair(a, b).score`` (mathematically; see ``_EPSILON``).

        The names are weighed at their best first; only when that still reaches ``threshold``
        are they compared (as ``compare_records`` does, transposition included)."""
        if a.nhs_number is None or b.nhs_number is None:
            total = self.nhs["missing"]
        else:
            total = self.nhs["exact" if a.nhs_number == b.nhs_number else "different"]
        if len(a.forenames) > 1 and len(b.forenames) > 1:
            total += self.middle_max
        total += self.dob[dob_level(a, b)]
        if a.postcode and a.postcode == b.postcode:
            total += self.same_postcode
        else:
            total += self.address[address_level(a, b)]
        if a.sex is None or b.sex is None:
            total += self.sex["missing"]
        else:
            total += self.sex["exact" if a.sex == b.sex else "different"]
        return total + self._names(a, b, threshold - total)

    def _names(self, a: PreparedRecord, b: PreparedRecord, needed: float) -> float:
        if a.forename and a.forename == b.forename and a.surname and a.surname == b.surname:
            return self.forename_exact + self.surname_exact  # both strong: never transposed
        # No forename on one side: no transposition either (it needs both forenames).
        best = self.names_any if a.forename and b.forename else self.surname_any
        if best < needed:
            return best
        forename, surname = forename_level(a, b)[0], surname_level(a, b)[0]
        if not (forename in _STRONG_FORENAME and surname in _STRONG_SURNAME) and _transposed(a, b):
            forename = surname = "transposed"
        return self.forename[forename] + self.surname[surname]

    def within_reach(
        self, incoming: PreparedRecord, candidates: Iterable[PreparedRecord], threshold: float
    ) -> list[PreparedRecord]:
        """The candidates (in their order) that could score ``threshold`` or more."""
        floor = threshold - _EPSILON
        return [c for c in candidates if self.bound(incoming, c, floor) >= floor]
