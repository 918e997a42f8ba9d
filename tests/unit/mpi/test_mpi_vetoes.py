from datetime import date

import pytest
from mpi_test_records import BASE, record

from mpi.matching.vetoes import VetoRules, find_vetoes
from mpi.matching.weights import TermFrequencies


def codes(a, b, rules: VetoRules | None = None, frequencies=None) -> set[str]:
    return {
        v.code for v in find_vetoes(a, b, rules=rules or VetoRules(), term_frequencies=frequencies)
    }


# An index where DEAN, SEAN and JOHN are established names and JKHN a one-off slip.
FREQUENCIES = TermFrequencies.from_counts(
    {"JOHN": 400, "DEAN": 60, "SEAN": 80, "JKHN": 1, "MARGARET": 200},
    {"ACKWORTH": 10},
    total=50_000,
)


def test_identical_records_raise_no_veto() -> None:
    assert codes(BASE, record()) == set()


def test_two_valid_different_nhs_numbers_veto() -> None:
    a = record("A", nhs_number="9990000018")
    b = record("B", nhs_number="9990000026")
    assert "nhs_number_conflict" in codes(a, b)


def test_an_invalid_or_missing_nhs_number_does_not_veto() -> None:
    a = record("A", nhs_number="9990000018")
    assert "nhs_number_conflict" not in codes(a, record(nhs_number="9990000019"))
    assert "nhs_number_conflict" not in codes(a, record(nhs_number=None))


def test_twins_veto_same_surname_dob_address_different_forename() -> None:
    twin = record(given_names="Dorothy Jane")
    assert "twins" in codes(BASE, twin)


def test_twins_veto_holds_through_slips_in_one_twins_record() -> None:
    assert "twins" in codes(BASE, record(given_names="Dorothy", family_name="Akworth"))
    assert "twins" in codes(BASE, record(given_names="Dorothy", postcode="M41 5SN"))
    assert "twins" in codes(BASE, record(given_names="Dorothy", dob=date(1948, 7, 3)))
    assert "twins" in codes(BASE, record(given_names="Dorothy", postcode=None))


def test_twins_veto_on_different_sex_even_with_similar_names() -> None:
    a = record("A", given_names="Daniel", sex="M")
    b = record("B", given_names="Danielle", sex="F")
    assert "twins" in codes(a, b)


def test_twins_veto_when_forename_agrees_only_on_a_middle_name_or_initial() -> None:
    assert "twins" in codes(BASE, record(given_names="Susan Margaret"))
    assert "twins" in codes(BASE, record(given_names="M"))


def test_no_twins_veto_for_a_nickname_or_a_different_address_or_date() -> None:
    assert "twins" not in codes(BASE, record(given_names="Peggy"))
    assert "twins" not in codes(BASE, record(given_names="Dorothy", postcode="WA14 2DT"))
    assert "twins" not in codes(BASE, record(given_names="Dorothy", dob=date(1950, 6, 1)))
    assert "twins" not in codes(BASE, record(given_names="Dorothy", address_line="14 Acre Road"))


def test_same_valid_nhs_number_rules_out_twins() -> None:
    a = record("A", nhs_number="9990000018")
    b = record("B", nhs_number="9990000018", given_names="Dorothy")
    assert "twins" not in codes(a, b)


def test_dob_years_apart_vetoes_unless_a_swap() -> None:
    assert "dob_far_apart" in codes(BASE, record(dob=date(1958, 3, 7)))
    assert "dob_far_apart" in codes(BASE, record(dob=date(1978, 11, 30)))
    assert "dob_far_apart" not in codes(BASE, record(dob=date(1948, 7, 3)))
    assert "dob_far_apart" not in codes(BASE, record(dob=date(1949, 3, 7)))


def test_dob_veto_ignores_placeholders_and_missing_dates() -> None:
    assert "dob_far_apart" not in codes(BASE, record(dob=date(1950, 1, 1), dob_placeholder=True))
    assert "dob_far_apart" not in codes(BASE, record(dob=None))


@pytest.mark.parametrize(
    ("dob", "family", "vetoed"),
    [
        # An unflagged 01-01 within a year is what the comparison calls a placeholder: a
        # stand-in date, not a date years apart, when the surnames agree.
        (date(1947, 1, 1), "Ackworth", False),
        (date(1949, 1, 1), "Ackworth", False),
        (date(1947, 1, 1), "Akworth", False),
        # A different surname: the stand-in date excuses nothing.
        (date(1947, 1, 1), "Thornton", True),
        # Two years off, or not 01-01: years apart.
        (date(1946, 1, 1), "Ackworth", True),
        (date(1946, 3, 7), "Ackworth", True),
    ],
)
def test_dob_veto_agrees_with_the_placeholder_level(dob: date, family: str, vetoed: bool) -> None:
    assert ("dob_far_apart" in codes(BASE, record(dob=dob, family_name=family))) is vetoed


def test_dob_gap_is_configurable() -> None:
    two_years = record(dob=date(1950, 3, 7))
    assert "dob_far_apart" in codes(BASE, two_years)
    assert "dob_far_apart" not in codes(BASE, two_years, VetoRules(dob_gap_days=1000))


def test_junior_and_senior_veto() -> None:
    father = record("A", given_names="John", sex="M", suffix="SR")
    son = record("B", given_names="John", sex="M", suffix="JR")
    assert "generation_suffix" in codes(father, son)
    assert "generation_suffix" not in codes(father, record("C", given_names="John", sex="M"))


def test_rules_can_be_switched_off() -> None:
    a = record("A", nhs_number="9990000018")
    b = record("B", nhs_number="9990000026")
    assert codes(a, b, VetoRules(nhs_number_conflict=False)) == set()


def test_every_veto_has_a_readable_reason() -> None:
    a = record("A", nhs_number="9990000018", suffix="SR")
    b = record("B", nhs_number="9990000026", dob=date(1978, 3, 7), suffix="JR")
    vetoes = find_vetoes(a, b)
    assert {v.code for v in vetoes} == {"nhs_number_conflict", "dob_far_apart", "generation_suffix"}
    assert all(len(v.reason) > 20 for v in vetoes)


@pytest.mark.parametrize(
    ("given_a", "given_b", "frequencies", "twins"),
    [
        # A slip of one keystroke into a name the index hardly holds is a misspelling.
        ("John", "Jkhn", FREQUENCIES, False),
        # Two established names a keystroke apart may be twins' names.
        ("Dean", "Sean", FREQUENCIES, True),
        # Without term frequencies a one-keystroke difference cannot be told from a twin.
        ("John", "Jkhn", None, True),
        # Unchanged: a different name, a middle name in use, an initial.
        ("John", "David", FREQUENCIES, True),
        ("John David", "David", FREQUENCIES, True),
        ("John", "J", FREQUENCIES, True),
    ],
)
def test_twins_veto_and_forename_slips(given_a, given_b, frequencies, twins) -> None:
    a = record("A", given_names=given_a, sex="M")
    b = record("B", given_names=given_b, sex="M")
    assert ("twins" in codes(a, b, frequencies=frequencies)) is twins


@pytest.mark.parametrize(
    ("given_a", "given_b", "twins"),
    [
        # One full forename on both: boy and girl twins are not given one name; a sex slip.
        ("Jordan", "Jordan", False),
        ("Jordan Lee", "Jordan", False),
        ("Jordan Lee", "Jordan Lee", False),
        # ...unless the middle names differ.
        ("Jordan Lee", "Jordan Rose", True),
        # Gendered forms of a name, an initial, a nickname: still twins.
        ("Louis", "Louise", True),
        ("John", "Joan", True),
        ("Daniel", "Danielle", True),
        ("J", "J", True),
        ("Alex", "Alexandra", True),
    ],
)
def test_twins_veto_on_different_sex(given_a, given_b, twins) -> None:
    a = record("A", given_names=given_a, sex="M")
    b = record("B", given_names=given_b, sex="F")
    assert ("twins" in codes(a, b, frequencies=FREQUENCIES)) is twins
