import math
import random
from dataclasses import replace

import pytest
from mpi_test_records import BASE, record

from mpi.matching.compare import FIELDS, LEVELS, FieldComparison, compare_records
from mpi.matching.weights import (
    DEFAULT_MODEL,
    MatchModel,
    TermFrequencies,
    estimate_m_from_labels,
    estimate_u_from_random_pairs,
    expectation_maximisation,
)


def test_level_weight_is_log2_m_over_u() -> None:
    m = DEFAULT_MODEL.m["dob"]["exact"]
    u = DEFAULT_MODEL.u["dob"]["exact"]
    assert DEFAULT_MODEL.level_weight("dob", "exact") == pytest.approx(math.log2(m / u))
    assert DEFAULT_MODEL.level_weight("dob", "different") < 0


def test_missing_weighs_nothing() -> None:
    for field in FIELDS:
        assert DEFAULT_MODEL.level_weight(field, "missing") == 0.0


def test_agreement_levels_are_ordered_by_strength_in_the_defaults() -> None:
    w = DEFAULT_MODEL.level_weight
    assert w("forename", "exact") > w("forename", "nickname") > w("forename", "different")
    assert w("dob", "exact") > w("dob", "swap") > w("dob", "typo") > w("dob", "different")
    assert w("address", "exact") > w("address", "outward") > w("address", "different")


def test_term_frequencies_lower_common_names_and_raise_rare_ones() -> None:
    tf = TermFrequencies.from_counts(
        {"JOHN": 200, "ZBIGNIEW": 1}, {"SMITH": 500, "ACKWORTH": 1}, total=10_000
    )
    model = DEFAULT_MODEL.with_term_frequencies(tf)
    base = model.level_weight("surname", "exact")
    smith, note = model.weight(FieldComparison("surname", "exact", "", "", term="SMITH"))
    rare, _ = model.weight(FieldComparison("surname", "exact", "", "", term="ACKWORTH"))
    assert smith < base < rare
    assert rare <= base + model.tf_max_bonus
    assert "SMITH" in note


def test_term_frequencies_from_records_count_first_forenames_and_surnames() -> None:
    tf = TermFrequencies.from_records([BASE, record("B"), record("C", family_name="Jones")])
    assert tf.frequency("surname", "ACKWORTH") == pytest.approx(2 / 3)
    assert tf.frequency("forename", "MARGARET") == pytest.approx(1.0)
    assert tf.frequency("surname", "NEVERSEEN") == tf.minimum


def test_same_household_surname_agreement_counts_for_little() -> None:
    sibling = record(given_names="Dorothy", dob=BASE.dob.replace(year=1952))
    weighed = DEFAULT_MODEL.weigh(compare_records(BASE, sibling))
    surname_weight, note = weighed[FIELDS.index("surname")]
    assert surname_weight < DEFAULT_MODEL.level_weight("surname", "exact")
    assert "same address" in note


def test_model_round_trips_through_plain_data() -> None:
    model = replace(DEFAULT_MODEL, prior=0.2, household_surname_u=0.5)
    again = MatchModel.from_dict(model.to_dict())
    assert again.to_dict() == model.to_dict()
    assert again.level_weight("dob", "swap") == model.level_weight("dob", "swap")


def test_from_dict_fills_missing_levels_from_defaults() -> None:
    model = MatchModel.from_dict({"m": {"sex": {"exact": 0.5}}})
    assert model.m["sex"]["exact"] == 0.5
    assert model.m["dob"] == DEFAULT_MODEL.m["dob"]


def test_probability_rises_with_score() -> None:
    assert DEFAULT_MODEL.probability(-20) < 0.01 < DEFAULT_MODEL.probability(0)
    assert DEFAULT_MODEL.probability(30) > 0.999


def test_u_from_random_pairs_measures_chance_agreement() -> None:
    people = [
        record(
            f"R{i}", given_names="Ann" + "abcdefg"[i % 7], family_name="Fam" + "abcdefghijk"[i % 11]
        )
        for i in range(60)
    ]
    u = estimate_u_from_random_pairs(people, pairs=2_000, seed=1)
    for field in FIELDS:
        assert sum(u[field].values()) == pytest.approx(1.0)
        assert set(u[field]) == set(LEVELS[field])
    # Eleven surnames in equal shares: a random pair agrees about one time in eleven.
    assert u["surname"]["exact"] == pytest.approx(1 / 11, abs=0.03)
    # Everyone shares the base record's date of birth.
    assert u["dob"]["exact"] > 0.99


def test_m_from_labels_counts_only_confirmed_matches() -> None:
    fields = ("dob", "sex")
    vectors = [("exact", "exact"), ("swap", "exact"), ("different", "different")]
    m = estimate_m_from_labels(vectors, [True, True, False], fields, pseudo_count=0.0)
    assert m["dob"]["exact"] == pytest.approx(0.5)
    assert m["dob"]["swap"] == pytest.approx(0.5)
    assert m["dob"]["different"] == 0.0
    assert m["sex"]["exact"] == pytest.approx(1.0)


def test_em_recovers_known_parameters() -> None:
    fields = ("dob", "sex")
    truth_m = {"dob": {"exact": 0.9, "swap": 0.05, "typo": 0.05}, "sex": {"exact": 0.95}}
    rng = random.Random(7)
    vectors = []
    for _ in range(3_000):  # 30% matches
        vectors.append(
            (
                rng.choices(("exact", "swap", "typo"), (0.9, 0.05, 0.05))[0],
                "exact" if rng.random() < 0.95 else "different",
            )
        )
    for _ in range(7_000):
        vectors.append(
            (
                rng.choices(("exact", "typo", "different"), (0.01, 0.04, 0.95))[0],
                "exact" if rng.random() < 0.5 else "different",
            )
        )
    result = expectation_maximisation(vectors, fields, prior_start=0.5)
    assert result.prior == pytest.approx(0.3, abs=0.03)
    assert result.m["dob"]["exact"] == pytest.approx(truth_m["dob"]["exact"], abs=0.03)
    assert result.m["sex"]["exact"] == pytest.approx(truth_m["sex"]["exact"], abs=0.03)
    assert result.u["dob"]["different"] == pytest.approx(0.95, abs=0.03)


def test_em_refuses_an_empty_input() -> None:
    with pytest.raises(ValueError):
        expectation_maximisation([], ("dob",))
