"""The score bound never falls below the real score, so pruning by it keeps every decision."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date

import pytest
from mpi_test_records import BASE, record

from bench.synthetic_people import generate
from mpi.matching.blocking import blocking_keys
from mpi.matching.bound import ScoreBound
from mpi.matching.decide import DEFAULT_THRESHOLDS, best_matches, score_pair
from mpi.matching.prepared import prepare
from mpi.matching.weights import DEFAULT_MODEL, TermFrequencies


def _pairs(records, seed: int = 3):
    """Blocked pairs (as a search finds them: the most keys shared first) and random ones."""
    prepared = [prepare(r) for r in records]
    keys = [blocking_keys(p) for p in prepared]
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, ks in enumerate(keys):
        for k in ks:
            blocks[k].append(i)
    pairs = []
    for i in range(0, len(prepared), 3):
        hits: Counter[int] = Counter()
        for k in sorted(keys[i]):
            hits.update(m for m in blocks[k] if m != i)
        pairs += [(i, j) for j, _ in hits.most_common(60)]
    rng = random.Random(seed)
    pairs += [(rng.randrange(len(prepared)), rng.randrange(len(prepared))) for _ in range(1500)]
    return prepared, pairs


@pytest.mark.parametrize("with_frequencies", [False, True])
def test_bound_is_never_below_the_score(with_frequencies: bool) -> None:
    data = generate(1500, 11)
    model = DEFAULT_MODEL
    if with_frequencies:
        model = model.with_term_frequencies(TermFrequencies.from_records(data.records))
    bound = ScoreBound.for_model(model)
    prepared, pairs = _pairs(data.records)
    pruned = 0
    for i, j in pairs:
        score = score_pair(prepared[i], prepared[j], model).score
        assert bound.bound(prepared[i], prepared[j]) >= score - 1e-9
        cheap = bound.bound(prepared[i], prepared[j], DEFAULT_THRESHOLDS.review)
        assert cheap >= score - 1e-9
        pruned += cheap < DEFAULT_THRESHOLDS.review
    assert pruned > len(pairs) // 2  # it does prune: most blocked and random pairs are strangers


def test_pruning_keeps_best_matches() -> None:
    data = generate(1200, 5)
    bound = ScoreBound.for_model(DEFAULT_MODEL)
    prepared, pairs = _pairs(data.records)
    by_incoming: dict[int, list[int]] = defaultdict(list)
    for i, j in pairs:
        by_incoming[i].append(j)
    review = DEFAULT_THRESHOLDS.review
    for i, js in by_incoming.items():
        candidates = [prepared[j] for j in js]
        kept = bound.within_reach(prepared[i], candidates, review)
        assert best_matches(prepared[i], kept) == best_matches(prepared[i], candidates)


def test_bound_of_hand_made_pairs() -> None:
    bound = ScoreBound.for_model(DEFAULT_MODEL)
    cases = [
        record(),
        record(family_name="Margaret", given_names="Ackworth"),  # transposed
        record(given_names="", dob=None),
        record(given_names="Peggy", dob=date(1948, 7, 3), postcode="M41 5SN"),
        record(nhs_number="9990000018", sex="M", address_line="14 Acre Road"),
        record(family_name="Ackworth-Smith", given_names="M", postcode=None),
    ]
    for base, other in [(prepare(BASE), c) for c in cases] + [
        (prepare(record("C", nhs_number="9990000026")), cases[4])
    ]:
        pb = prepare(other)
        assert bound.bound(base, pb) >= score_pair(base, pb).score - 1e-9
        assert bound.bound(pb, base) >= score_pair(pb, base).score - 1e-9
