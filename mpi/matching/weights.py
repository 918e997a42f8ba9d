"""Fellegi-Sunter weights: m and u per comparison level, log2(m/u) per field, and their estimation.

For each field level, ``m`` is the probability of seeing that level when the two records are the
same person and ``u`` the probability when they are not; the level's weight is ``log2(m/u)`` bits
and a pair's score is the sum over fields. A ``missing`` level always weighs 0: an absent value
is no evidence either way.

Exact agreement on a name is adjusted by how common the name is (term frequency): two SMITHs
agree far more often by chance than two ZBIGNIEWs, so ``u`` for an exact match on value ``v`` is
the share of records holding ``v`` rather than the average chance agreement.

Estimation, usable by a nightly job or by the benchmark:

* ``u`` from random pairs of records (almost all random pairs are different people);
* ``m`` by expectation-maximisation over the comparison vectors of candidate pairs, or from the
  clerks' decisions (merged = same person) when there are enough of them.

`DEFAULT_MODEL` ships conservative values so that matching works before any training; a
model trained on the index itself (`mpi.matching.training.train_model`) does better.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mpi.matching.compare import FIELDS, LEVELS, FieldComparison, compare_records
from mpi.matching.normalise import compact_name, given_name_tokens
from mpi.matching.prepared import PreparedRecord, prepare
from mpi.matching.record import PersonRecord

__all__ = [
    "DEFAULT_M",
    "DEFAULT_MODEL",
    "DEFAULT_U",
    "EmResult",
    "MatchModel",
    "TermFrequencies",
    "estimate_m_from_labels",
    "estimate_u_from_random_pairs",
    "expectation_maximisation",
]

Parameters = Mapping[str, Mapping[str, float]]

DEFAULT_M: dict[str, dict[str, float]] = {
    "nhs_number": {"exact": 0.60, "different": 0.005, "missing": 0.395},
    "forename": {
        "exact": 0.82,
        "nickname": 0.035,
        "transposed": 0.01,
        "jw_high": 0.045,
        "typo": 0.015,
        "initial": 0.015,
        "other_given": 0.03,
        "jw_mid": 0.005,
        "different": 0.02,
        "missing": 0.005,
    },
    "middle_names": {
        "exact": 0.45,
        "initial": 0.01,
        "jw_high": 0.015,
        "different": 0.015,
        "missing": 0.51,
    },
    "surname": {
        "exact": 0.82,
        "previous": 0.035,
        "transposed": 0.01,
        "part": 0.005,
        "jw_high": 0.07,
        "phonetic": 0.005,
        "jw_mid": 0.005,
        "different": 0.045,
        "missing": 0.005,
    },
    "dob": {
        "exact": 0.88,
        "swap": 0.015,
        "typo": 0.055,
        "placeholder": 0.025,
        "different": 0.01,
        "missing": 0.015,
    },
    "address": {
        "exact": 0.72,
        "postcode": 0.01,
        "previous": 0.06,
        "typo": 0.025,
        "outward": 0.045,
        "different": 0.06,
        "missing": 0.08,
    },
    "sex": {"exact": 0.93, "different": 0.01, "missing": 0.06},
}
"""Chance of each level when two records are the same person: clerical error rates."""

DEFAULT_U: dict[str, dict[str, float]] = {
    "nhs_number": {"exact": 1e-6, "different": 0.5, "missing": 0.5},
    "forename": {
        "exact": 0.01,
        "nickname": 0.002,
        "transposed": 1e-5,
        "jw_high": 0.0015,
        "typo": 5e-4,
        "initial": 0.0015,
        "other_given": 0.02,
        "jw_mid": 0.006,
        "different": 0.9535,
        "missing": 0.005,
    },
    "middle_names": {
        "exact": 0.03,
        "initial": 0.005,
        "jw_high": 0.005,
        "different": 0.25,
        "missing": 0.71,
    },
    "surname": {
        "exact": 0.002,
        "previous": 3e-4,
        "transposed": 1e-5,
        "part": 1e-4,
        "jw_high": 0.001,
        "phonetic": 5e-4,
        "jw_mid": 0.006,
        "different": 0.985,
        "missing": 0.005,
    },
    "dob": {
        "exact": 1e-4,
        "swap": 3e-5,
        "typo": 1e-3,
        "placeholder": 1e-3,
        "different": 0.98,
        "missing": 0.02,
    },
    "address": {
        "exact": 2e-4,
        "postcode": 1.5e-3,
        "previous": 2e-4,
        "typo": 1e-3,
        "outward": 0.05,
        "different": 0.89,
        "missing": 0.06,
    },
    "sex": {"exact": 0.5, "different": 0.47, "missing": 0.03},
}
"""Chance of each level between two different people. Deliberately those of a small index
(tens of thousands of records): in a larger index chance agreement is rarer, so these values
understate the evidence and err towards the clerks' queue rather than towards a wrong link."""

TF_FIELDS: tuple[str, ...] = ("forename", "surname")
HOUSEHOLD_ADDRESS_LEVELS = frozenset({"exact", "postcode", "typo"})
"""Address levels taken to mean "the same household" for the surname correction."""
AGREEING_SURNAME_LEVELS = frozenset({"exact", "previous", "part", "jw_high", "phonetic"})
_FLOOR = 1e-9


@dataclass(frozen=True)
class TermFrequencies:
    """Share of records holding each forename and surname (upper-case, letters only).

    ``minimum`` is used for a name the table does not hold, so an unseen name is treated as
    rare but not infinitely so.
    """

    forenames: Mapping[str, float] = field(default_factory=dict)
    surnames: Mapping[str, float] = field(default_factory=dict)
    minimum: float = 1e-5

    @classmethod
    def from_counts(
        cls,
        forename_counts: Mapping[str, int],
        surname_counts: Mapping[str, int],
        total: int | None = None,
        minimum: float | None = None,
    ) -> TermFrequencies:
        """From name counts, e.g. a ``GROUP BY`` over the patient index."""
        total_f = total or max(sum(forename_counts.values()), 1)
        total_s = total or max(sum(surname_counts.values()), 1)
        forenames = {compact_name(k): v / total_f for k, v in forename_counts.items() if k}
        surnames = {compact_name(k): v / total_s for k, v in surname_counts.items() if k}
        floor = minimum if minimum is not None else 1.0 / max(total_f, total_s, 1)
        return cls(forenames, surnames, floor)

    @classmethod
    def from_records(cls, records: Iterable[PersonRecord | PreparedRecord]) -> TermFrequencies:
        """Count first forenames and surnames over a data set."""
        forenames: Counter[str] = Counter()
        surnames: Counter[str] = Counter()
        total = 0
        for item in records:
            record = item.record if isinstance(item, PreparedRecord) else item
            total += 1
            tokens = given_name_tokens(record.given_names)
            if tokens:
                forenames[tokens[0]] += 1
            surname = compact_name(record.family_name)
            if surname:
                surnames[surname] += 1
        return cls.from_counts(forenames, surnames, total=total)

    def frequency(self, field_name: str, term: str) -> float:
        table = self.forenames if field_name == "forename" else self.surnames
        return max(table.get(term, 0.0), self.minimum)


@dataclass(frozen=True)
class MatchModel:
    """m and u per field level, optional term frequencies, and the prior for probabilities.

    ``prior`` is the share of candidate pairs expected to be matches; it turns a score into a
    match probability for display and does not move the zones, which use the score. A rare name
    adds at most ``tf_max_bonus`` bits over the level's average weight, so one unusual surname
    cannot outvote a different date of birth.

    ``household_surname_u`` corrects the one dependence between fields that matters most: two
    different people at the same address usually share a surname (a family), so there surname
    agreement is worth only ``log2(m / household_surname_u)`` bits, not the bits it is worth
    between strangers. Without it a mother and daughter with a rare surname look like one person.
    """

    m: Parameters = field(default_factory=lambda: DEFAULT_M)
    u: Parameters = field(default_factory=lambda: DEFAULT_U)
    prior: float = 0.05
    term_frequencies: TermFrequencies | None = None
    tf_max_bonus: float = 4.0
    household_surname_u: float = 0.6
    _weights: dict[tuple[str, str], float] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for name in FIELDS:
            for level in LEVELS[name]:
                if level == "missing":
                    weight = 0.0
                else:
                    m = max(self.m[name][level], _FLOOR)
                    u = max(self.u[name][level], _FLOOR)
                    weight = math.log2(m / u)
                self._weights[(name, level)] = weight

    def level_weight(self, field_name: str, level: str) -> float:
        """log2(m/u) of a level, before any term-frequency adjustment (0 for missing)."""
        return self._weights[(field_name, level)]

    def weight(self, comparison: FieldComparison) -> tuple[float, str]:
        """The weight of one field comparison and a note saying how it was reached."""
        base = self._weights[(comparison.field, comparison.level)]
        if comparison.level == "missing":
            return 0.0, "no usable value on one side: no evidence either way"
        tf = self.term_frequencies
        if (
            tf is not None
            and comparison.level == "exact"
            and comparison.field in TF_FIELDS
            and comparison.term
        ):
            share = tf.frequency(comparison.field, comparison.term)
            adjusted = math.log2(max(self.m[comparison.field]["exact"], _FLOOR) / share)
            adjusted = min(adjusted, base + self.tf_max_bonus)
            return adjusted, f"{comparison.term} is held by {share:.3%} of records"
        return base, ""

    def weigh(self, comparisons: Sequence[FieldComparison]) -> list[tuple[float, str]]:
        """Weights and notes of all of a pair's field comparisons, with the household correction."""
        weighed = [self.weight(c) for c in comparisons]
        levels = {c.field: c.level for c in comparisons}
        if levels.get("address") in HOUSEHOLD_ADDRESS_LEVELS:
            cap = math.log2(
                max(self.m["surname"]["exact"], _FLOOR) / max(self.household_surname_u, _FLOOR)
            )
            for index, comparison in enumerate(comparisons):
                if comparison.field == "surname" and comparison.level in AGREEING_SURNAME_LEVELS:
                    weight, _ = weighed[index]
                    if weight > cap:
                        weighed[index] = (
                            cap,
                            "same address: people living together often share a surname, "
                            "so agreement counts for little",
                        )
        return weighed

    def probability(self, score: float) -> float:
        """Match probability of a score given the prior (Bayes with log2 odds)."""
        odds = self.prior / (1.0 - self.prior) * 2.0 ** max(min(score, 1000.0), -1000.0)
        return odds / (1.0 + odds)

    def with_term_frequencies(self, term_frequencies: TermFrequencies | None) -> MatchModel:
        return replace(self, term_frequencies=term_frequencies)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for JSON in a settings table); term frequencies are not included."""
        return {
            "m": {f: dict(levels) for f, levels in self.m.items()},
            "u": {f: dict(levels) for f, levels in self.u.items()},
            "prior": self.prior,
            "tf_max_bonus": self.tf_max_bonus,
            "household_surname_u": self.household_surname_u,
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], term_frequencies: TermFrequencies | None = None
    ) -> MatchModel:
        m = _complete(data.get("m", {}), DEFAULT_M)
        u = _complete(data.get("u", {}), DEFAULT_U)
        return cls(
            m=m,
            u=u,
            prior=float(data.get("prior", 0.05)),
            term_frequencies=term_frequencies,
            tf_max_bonus=float(data.get("tf_max_bonus", 4.0)),
            household_surname_u=float(data.get("household_surname_u", 0.6)),
        )


def _complete(given: Parameters, defaults: Parameters) -> dict[str, dict[str, float]]:
    """Fill any field or level the given parameters lack from the defaults."""
    result: dict[str, dict[str, float]] = {}
    for name in FIELDS:
        result[name] = {
            level: float(given.get(name, {}).get(level, defaults[name][level]))
            for level in LEVELS[name]
        }
    return result


DEFAULT_MODEL = MatchModel()
"""Shipped parameters; train with `mpi.matching.training.train_model` on your own records."""


def _normalised(counts: Counter[str], levels: Sequence[str], pseudo: float) -> dict[str, float]:
    total = sum(counts.values()) + pseudo * len(levels)
    return {level: (counts[level] + pseudo) / total for level in levels}


def estimate_u_from_random_pairs(
    records: Sequence[PersonRecord | PreparedRecord],
    *,
    pairs: int = 200_000,
    seed: int = 0,
    pseudo_count: float = 0.5,
) -> dict[str, dict[str, float]]:
    """u per field level from random record pairs (nearly all of which are different people).

    A small pseudo-count keeps rare levels above zero; with 200,000 pairs it puts a floor of
    about 2.5e-6 under any u, which is conservative (it can only lower a weight).
    """
    prepared = [prepare(r) for r in records]
    if len(prepared) < 2:
        raise ValueError("need at least two records to sample pairs")
    rng = random.Random(seed)
    counts: dict[str, Counter[str]] = {name: Counter() for name in FIELDS}
    n = len(prepared)
    for _ in range(pairs):
        i = rng.randrange(n)
        j = rng.randrange(n - 1)
        if j >= i:
            j += 1
        for comparison in compare_records(prepared[i], prepared[j]):
            counts[comparison.field][comparison.level] += 1
    return {name: _normalised(counts[name], LEVELS[name], pseudo_count) for name in FIELDS}


def estimate_m_from_labels(
    vectors: Iterable[Sequence[str]],
    labels: Iterable[bool],
    fields: Sequence[str] = FIELDS,
    *,
    pseudo_count: float = 0.5,
) -> dict[str, dict[str, float]]:
    """m per field level from pairs a clerk decided: True = same person (merged)."""
    counts: dict[str, Counter[str]] = {name: Counter() for name in fields}
    for vector, is_match in zip(vectors, labels, strict=True):
        if is_match:
            for name, level in zip(fields, vector, strict=True):
                counts[name][level] += 1
    return {name: _normalised(counts[name], LEVELS[name], pseudo_count) for name in fields}


@dataclass(frozen=True)
class EmResult:
    m: dict[str, dict[str, float]]
    u: dict[str, dict[str, float]]
    prior: float
    iterations: int
    converged: bool


def expectation_maximisation(
    vectors: Iterable[Sequence[str]] | Mapping[tuple[str, ...], int],
    fields: Sequence[str],
    *,
    m_start: Parameters = DEFAULT_M,
    u_start: Parameters = DEFAULT_U,
    prior_start: float = 0.1,
    fix_u: bool = False,
    iterations: int = 50,
    tolerance: float = 1e-6,
    pseudo_count: float = 0.1,
) -> EmResult:
    """Two-class EM (match / non-match) over comparison vectors, assuming field independence.

    ``vectors`` are tuples of levels in ``fields`` order, or a ready Counter of them; identical
    vectors are grouped so that each iteration costs the number of distinct patterns, not pairs.
    Leave out of ``fields`` any field used to choose the pairs (a blocking rule on date of
    birth makes every pair agree on it, which says nothing about m).
    """
    patterns: Counter[tuple[str, ...]] = (
        Counter(vectors) if not isinstance(vectors, Mapping) else Counter(dict(vectors))
    )
    if not patterns:
        raise ValueError("no comparison vectors to learn from")
    m = {name: {lv: max(m_start[name][lv], _FLOOR) for lv in LEVELS[name]} for name in fields}
    u = {name: {lv: max(u_start[name][lv], _FLOOR) for lv in LEVELS[name]} for name in fields}
    prior = prior_start
    items = list(patterns.items())
    total = sum(patterns.values())
    converged = False
    iteration = 0
    for iteration in range(1, iterations + 1):  # noqa: B007 - reported in the result
        m_counts = {name: Counter() for name in fields}
        u_counts = {name: Counter() for name in fields}
        match_total = 0.0
        for vector, count in items:
            log_m = math.log(prior)
            log_u = math.log(1.0 - prior)
            for name, level in zip(fields, vector, strict=True):
                log_m += math.log(m[name][level])
                log_u += math.log(u[name][level])
            top = max(log_m, log_u)
            p_match = math.exp(log_m - top) / (math.exp(log_m - top) + math.exp(log_u - top))
            match_total += p_match * count
            for name, level in zip(fields, vector, strict=True):
                m_counts[name][level] += p_match * count
                u_counts[name][level] += (1.0 - p_match) * count
        new_prior = min(max(match_total / total, 1e-6), 1 - 1e-6)
        new_m = {name: _normalised(m_counts[name], LEVELS[name], pseudo_count) for name in fields}
        new_u = (
            u
            if fix_u
            else {name: _normalised(u_counts[name], LEVELS[name], pseudo_count) for name in fields}
        )
        change = abs(new_prior - prior) + max(
            abs(new_m[name][lv] - m[name][lv]) for name in fields for lv in LEVELS[name]
        )
        m, u, prior = new_m, new_u, new_prior
        if change < tolerance:
            converged = True
            break
    return EmResult(m=m, u=u, prior=prior, iterations=iteration, converged=converged)
