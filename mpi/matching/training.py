"""Training a `MatchModel` from unlabelled records: u from random pairs, m by EM.

EM over candidate pairs cannot learn m for a field the pairs were chosen by (pairs sharing a
date of birth all agree on it), so training runs twice, as Splink does: once over pairs that
share a date of birth, learning m for names, address, sex and NHS number; once over pairs that
share a surname code and forename initial, learning m for date of birth, middle names,
address, sex and NHS number. Where both runs learn a field, the two estimates are averaged.
The u of NHS number agreement is kept from the base model (see `KEEP_BASE_U`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

from mpi.matching.compare import FIELDS, compare_records
from mpi.matching.phonetic import metaphone
from mpi.matching.prepared import PreparedRecord, prepare
from mpi.matching.record import PersonRecord
from mpi.matching.weights import (
    AGREEING_SURNAME_LEVELS,
    DEFAULT_MODEL,
    MatchModel,
    TermFrequencies,
    estimate_u_from_random_pairs,
    expectation_maximisation,
)

__all__ = ["KEEP_BASE_U", "estimate_household_surname_u", "train_model"]

KEEP_BASE_U: tuple[tuple[str, str], ...] = (("nhs_number", "exact"),)
"""Levels whose u random pairs cannot measure: two different people share an NHS number only
through a clerical error (about one in a million pairs), so the few random pairs that agree on
one are nearly all true duplicates and would make u far too large."""

Progress = Callable[[str], None]


def _pairs_by(
    prepared: Sequence[PreparedRecord],
    key: Callable[[PreparedRecord], str | None],
    max_block_size: int,
) -> list[tuple[int, int]]:
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(prepared):
        value = key(record)
        if value:
            blocks[value].append(index)
    pairs = []
    for members in blocks.values():
        if 1 < len(members) <= max_block_size:
            pairs.extend(
                (members[x], members[y])
                for x in range(len(members))
                for y in range(x + 1, len(members))
            )
    return pairs


def _vectors(
    prepared: Sequence[PreparedRecord], pairs: list[tuple[int, int]], fields: tuple[str, ...]
) -> Counter[tuple[str, ...]]:
    position = [FIELDS.index(name) for name in fields]
    vectors: Counter[tuple[str, ...]] = Counter()
    for i, j in pairs:
        comparisons = compare_records(prepared[i], prepared[j])
        vectors[tuple(comparisons[p].level for p in position)] += 1
    return vectors


def _by_dob(record: PreparedRecord) -> str | None:
    return record.dob_digits or None


def _by_address(record: PreparedRecord) -> str | None:
    if not record.postcode or not record.address_line:
        return None
    return f"{record.postcode}|{record.address_line}"


def _by_name(record: PreparedRecord) -> str | None:
    code = metaphone(record.surname)
    if not code or not record.forename:
        return None
    return f"{code}:{record.forename[0]}"


def train_model(
    records: Sequence[PersonRecord | PreparedRecord],
    *,
    base: MatchModel = DEFAULT_MODEL,
    random_pairs: int = 200_000,
    max_block_size: int = 50,
    seed: int = 0,
    term_frequencies: bool = True,
    progress: Progress | None = None,
) -> MatchModel:
    """Estimate u and m from the records themselves; ``base`` gives EM its starting point."""
    say = progress or (lambda _message: None)
    prepared = [prepare(r) for r in records]
    say(f"u from {random_pairs:,} random pairs")
    u = estimate_u_from_random_pairs(prepared, pairs=random_pairs, seed=seed)
    for name, level in KEEP_BASE_U:
        u[name][level] = base.u[name][level]

    runs = (
        (
            "date of birth",
            _by_dob,
            ("nhs_number", "forename", "middle_names", "surname", "address", "sex"),
        ),
        (
            "surname code and initial",
            _by_name,
            ("nhs_number", "middle_names", "dob", "address", "sex"),
        ),
    )
    learned: dict[str, list[dict[str, float]]] = defaultdict(list)
    priors = []
    for label, key, fields in runs:
        pairs = _pairs_by(prepared, key, max_block_size)
        say(f"EM over {len(pairs):,} pairs sharing {label}")
        if not pairs:
            continue
        result = expectation_maximisation(
            _vectors(prepared, pairs, fields),
            fields,
            m_start=base.m,
            u_start=u,
            prior_start=0.1,
        )
        priors.append(result.prior)
        for name in fields:
            learned[name].append(result.m[name])

    m = {name: dict(base.m[name]) for name in FIELDS}
    for name, estimates in learned.items():
        m[name] = {level: sum(e[level] for e in estimates) / len(estimates) for level in m[name]}
    frequencies = TermFrequencies.from_records(prepared) if term_frequencies else None
    household_u = estimate_household_surname_u(prepared)
    say(
        "surname shared by different people at one address: "
        + ("too few households to tell" if household_u is None else f"{household_u:.2f}")
    )
    return MatchModel(
        m=m,
        u=u,
        prior=base.prior,
        term_frequencies=frequencies,
        tf_max_bonus=base.tf_max_bonus,
        household_surname_u=base.household_surname_u if household_u is None else household_u,
    )


def estimate_household_surname_u(
    records: Sequence[PersonRecord | PreparedRecord], *, minimum_pairs: int = 100
) -> float | None:
    """How often two different people at one address share a surname.

    Pairs at the same address whose dates of birth differ by more than a slip are almost all
    different people (a family, flatmates); the share of them with agreeing surnames is the
    household correction's u. None when there are fewer than ``minimum_pairs`` such pairs.
    """
    prepared = [prepare(r) for r in records]
    pairs = _pairs_by(prepared, _by_address, max_block_size=12)
    shared = counted = 0
    for i, j in pairs:
        comparisons = compare_records(prepared[i], prepared[j])
        levels = {c.field: c.level for c in comparisons}
        if levels["dob"] != "different" or levels["address"] != "exact":
            continue
        counted += 1
        if levels["surname"] in AGREEING_SURNAME_LEVELS:
            shared += 1
    if counted < minimum_pairs:
        return None
    return shared / counted
