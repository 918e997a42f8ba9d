from datetime import date

import pytest
from mpi_test_records import BASE, record

from mpi.matching.compare import FIELDS, LEVELS, compare_records, one_keystroke_apart
from mpi.matching.record import PersonRecord


def levels(a: PersonRecord, b: PersonRecord) -> dict[str, str]:
    return {c.field: c.level for c in compare_records(a, b)}


def test_identical_records_agree_on_every_field_present() -> None:
    got = levels(BASE, record(nhs_number=None))
    assert got == {
        "nhs_number": "missing",
        "forename": "exact",
        "middle_names": "exact",
        "surname": "exact",
        "dob": "exact",
        "address": "exact",
        "sex": "exact",
    }


def test_comparisons_come_in_field_order_with_known_levels() -> None:
    comparisons = compare_records(BASE, record(given_names="Peggy"))
    assert tuple(c.field for c in comparisons) == FIELDS
    for comparison in comparisons:
        assert comparison.level in LEVELS[comparison.field]


@pytest.mark.parametrize(
    ("given", "level"),
    [
        ("Margaret", "exact"),
        ("MARGARET", "exact"),
        ("Peggy", "nickname"),
        ("Margret", "jw_high"),
        ("M", "initial"),
        ("Anne", "other_given"),
        ("Mary", "different"),
        ("", "missing"),
    ],
)
def test_forename_levels(given: str, level: str) -> None:
    assert levels(BASE, record(given_names=given))["forename"] == level


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("JOHN", "JKHN", True),  # a letter changed near the start (Jaro-Winkler 0.83)
        ("OSCAR", "OSDAR", True),
        ("SARAH", "SAEAH", True),
        ("HEIDI", "HSIDI", True),
        ("DAVID", "DAVIDD", True),  # a letter added
        ("ANDREW", "ANDRW", True),  # a letter dropped
        ("RBOERT", "ROBERT", True),  # two neighbours swapped
        ("TOM", "TIM", False),  # too short to judge by keystrokes
        ("JOHN", "JOHN", False),  # the same name is not a slip
        ("JOHN", "JHNO", False),  # two keystrokes
        ("DAVID", "DANIEL", False),
    ],
)
def test_one_keystroke_apart(a: str, b: str, expected: bool) -> None:
    assert one_keystroke_apart(a, b) is expected
    assert one_keystroke_apart(b, a) is expected


@pytest.mark.parametrize(
    ("given_b", "level"),
    [
        ("Jkhn", "typo"),  # Jaro-Winkler 0.83 would call it a different name
        ("Jonh", "jw_high"),  # a late slip Jaro-Winkler already sees
        ("Joan", "typo"),  # a real name too: the twins veto and sex keep JOHN/JOAN apart
        ("Paul", "different"),
    ],
)
def test_short_forename_slips(given_b: str, level: str) -> None:
    a = record("A", given_names="John", sex="M")
    assert levels(a, record(given_names=given_b, sex="M"))["forename"] == level


def test_a_keystroke_slip_keeps_the_middle_name_from_hiding_it() -> None:
    # OSDAR LEE is OSCAR LEE mistyped, not someone called LEE: typo, not other_given.
    a = record("A", given_names="Oscar Lee", sex="M")
    b = record("B", given_names="Osdar Lee", sex="M")
    assert levels(a, b)["forename"] == "typo"


def test_forename_exact_carries_the_term_for_frequency_weights() -> None:
    forename = compare_records(BASE, record())[1]
    assert forename.term == "MARGARET"


@pytest.mark.parametrize(
    ("family", "previous", "level"),
    [
        ("ACKWORTH", (), "exact"),
        ("Jones", ("Ackworth",), "previous"),
        ("Ackworth-Jones", (), "part"),
        ("Akworth", (), "jw_high"),
        ("Jones", (), "different"),
        ("", (), "missing"),
    ],
)
def test_surname_levels(family: str, previous: tuple[str, ...], level: str) -> None:
    other = record(family_name=family, previous_family_names=previous)
    assert levels(BASE, other)["surname"] == level


def test_surname_phonetic_level() -> None:
    a = record("A", family_name="Thomson")
    b = record("B", family_name="Tomsen")
    assert levels(a, b)["surname"] == "phonetic"
    c = record("C", family_name="Jones")
    d = record("D", family_name="Johns")
    assert levels(c, d)["surname"] == "phonetic"


@pytest.mark.parametrize(
    ("given_b", "family_b", "transposed"),
    [
        ("Weshurst", "Robert", True),  # plain swap
        ("Weshurst", "Rob", True),  # swapped and a nickname
        ("Weshurst", "Robret", True),  # swapped and a keystroke slip in the forename
        ("Wesjurst", "Robert", True),  # swapped and a keystroke slip in the surname
        ("Weshurst", "R", False),  # swapped with an initial only: too little to say
        ("Weshurst", "Ronald", False),  # a different forename
        ("Thornton", "Robert", False),  # a different surname
    ],
)
def test_transposition_survives_one_slip(given_b: str, family_b: str, transposed: bool) -> None:
    a = record("A", given_names="Robert", family_name="Weshurst", sex="M")
    b = record("B", given_names=given_b, family_name=family_b, sex="M")
    got = levels(a, b)
    assert (got["forename"] == "transposed") is transposed
    assert (got["surname"] == "transposed") is transposed
    assert (levels(b, a)["forename"] == "transposed") is transposed


def test_forename_and_surname_transposed() -> None:
    swapped = record(given_names="Ackworth", family_name="Margaret")
    got = levels(BASE, swapped)
    assert got["forename"] == "transposed"
    assert got["surname"] == "transposed"


@pytest.mark.parametrize(
    ("dob", "placeholder", "level"),
    [
        (date(1948, 3, 7), False, "exact"),
        (date(1948, 7, 3), False, "swap"),
        (date(1948, 3, 8), False, "typo"),
        (date(1958, 3, 7), False, "typo"),
        (date(1948, 1, 1), True, "placeholder"),
        (date(1949, 1, 1), True, "placeholder"),
        (date(1948, 1, 1), False, "placeholder"),
        (date(1960, 1, 1), True, "different"),
        (date(1951, 11, 21), False, "different"),
        (None, False, "missing"),
    ],
)
def test_dob_levels(dob: date | None, placeholder: bool, level: str) -> None:
    assert levels(BASE, record(dob=dob, dob_placeholder=placeholder))["dob"] == level


def test_same_day_and_month_is_not_a_swap() -> None:
    a = record("A", dob=date(1980, 5, 5))
    b = record("B", dob=date(1980, 5, 5))
    assert levels(a, b)["dob"] == "exact"


@pytest.mark.parametrize(
    ("changes", "level"),
    [
        ({}, "exact"),
        ({"address_line": "12 Acre Rd"}, "exact"),
        ({"address_line": "14 Acre Road"}, "postcode"),
        ({"postcode": "WA14 2DT", "previous_postcodes": ("M41 5SL",)}, "previous"),
        ({"postcode": "M41 5SN"}, "typo"),
        ({"postcode": "M41 9QQ"}, "outward"),
        ({"postcode": "WA14 2DT"}, "different"),
        ({"postcode": None}, "missing"),
    ],
)
def test_address_levels(changes: dict, level: str) -> None:
    assert levels(BASE, record(**changes))["address"] == level


@pytest.mark.parametrize(("sex", "level"), [("F", "exact"), ("M", "different"), ("U", "missing")])
def test_sex_levels(sex: str, level: str) -> None:
    assert levels(BASE, record(sex=sex))["sex"] == level


def test_nhs_number_levels_ignore_invalid_numbers() -> None:
    a = record("A", nhs_number="9990000018")
    assert levels(a, record(nhs_number="999 000 0018"))["nhs_number"] == "exact"
    assert levels(a, record(nhs_number="9990000026"))["nhs_number"] == "different"
    assert levels(a, record(nhs_number="9990000019"))["nhs_number"] == "missing"
    assert levels(a, record(nhs_number="0000000000"))["nhs_number"] == "missing"


@pytest.mark.parametrize(
    ("middle_a", "middle_b", "level"),
    [
        ("Anne", "Anne", "exact"),
        ("Anne", "A", "initial"),
        ("Anne", "Ann", "jw_high"),
        ("Anne", "Louise", "different"),
        ("Anne", "", "missing"),
    ],
)
def test_middle_name_levels(middle_a: str, middle_b: str, level: str) -> None:
    a = record("A", given_names=f"Margaret {middle_a}")
    b = record("B", given_names=f"Margaret {middle_b}".strip())
    assert levels(a, b)["middle_names"] == level
