from collections import Counter

from bench.synthetic_people import generate, generate_people
from mpi import nhs_number


def test_generation_is_deterministic_for_a_seed() -> None:
    first = generate(2_000, seed=5)
    second = generate(2_000, seed=5)
    assert first.records == second.records
    assert first.person_ids == second.person_ids
    assert first.tags == second.tags


def test_different_seeds_give_different_people() -> None:
    assert generate(500, seed=1).records != generate(500, seed=2).records


def test_exact_record_count_and_truth_pairs() -> None:
    dataset = generate(3_000, seed=9)
    assert len(dataset) == 3_000
    assert len({r.record_id for r in dataset.records}) == 3_000
    per_person = Counter(dataset.person_ids)
    expected = sum(n * (n - 1) // 2 for n in per_person.values())
    assert len(dataset.true_pairs()) == expected
    assert expected > 0
    for i, j in dataset.true_pairs():
        assert i < j
        assert dataset.person_ids[i] == dataset.person_ids[j]


def test_nhs_numbers_are_valid_test_range_numbers_unique_per_person() -> None:
    dataset = generate(3_000, seed=4)
    owner: dict[str, int] = {}
    for rec, person, tags in zip(dataset.records, dataset.person_ids, dataset.tags, strict=True):
        if rec.nhs_number is None or "nhs_mistyped" in tags:
            continue
        assert rec.nhs_number.startswith("999")
        assert nhs_number.is_valid(rec.nhs_number)
        assert owner.setdefault(rec.nhs_number, person) == person
    assert owner


def test_without_nhs_numbers_removes_every_number_and_keeps_the_rest() -> None:
    dataset = generate(500, seed=4)
    bare = dataset.without_nhs_numbers()
    assert all(r.nhs_number is None for r in bare.records)
    assert [r.family_name for r in bare.records] == [r.family_name for r in dataset.records]
    assert bare.person_ids == dataset.person_ids


def test_the_hard_cases_are_present() -> None:
    counts = generate(20_000, seed=2).tag_counts()
    for case in (
        "twin",
        "jr_sr",
        "namesake",
        "nickname",
        "dob_swap",
        "dob_typo",
        "dob_placeholder",
        "old_address",
        "maiden_name",
        "surname_typo",
        "forename_typo",
        "transposed",
    ):
        assert counts[case] > 0, case


def test_people_live_in_households_with_uk_postcodes() -> None:
    people = generate_people(500, seed=8)
    assert len(people) >= 500
    households = Counter(p.household_id for p in people)
    assert max(households.values()) > 1
    for person in people[:50]:
        outward, inward = person.address.postcode.split(" ")
        assert outward[0].isalpha() and inward[0].isdigit() and len(inward) == 3
        assert nhs_number.is_valid(person.nhs_number)
