import pytest

from mpi.matching.nicknames import are_nickname_equivalent, formal_names, nickname_table
from mpi.matching.normalise import (
    compact_name,
    family_name_parts,
    given_name_tokens,
    normalise_address_line,
    normalise_name,
    normalise_postcode,
    postcode_outward,
)
from mpi.matching.phonetic import metaphone, sounds_alike


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("o'brien", "OBRIEN"),
        ("O\u2019Brien", "OBRIEN"),
        ("Smith - Jones", "SMITH-JONES"),
        ("  mary   anne ", "MARY ANNE"),
        ("Siân", "SIAN"),
        ("Zoë", "ZOE"),
        ("Müller", "MULLER"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise_name(raw: str | None, expected: str) -> None:
    assert normalise_name(raw) == expected


def test_compact_name_ignores_spaces_hyphens_and_apostrophes() -> None:
    assert compact_name("O'Brien") == compact_name("O Brien") == compact_name("OBRIEN")
    assert compact_name("Da Silva") == "DASILVA"


def test_family_name_parts_split_double_barrelled_names() -> None:
    assert family_name_parts("Smith-Jones") == ("SMITH", "JONES")
    assert family_name_parts("Taylor") == ("TAYLOR",)


def test_given_name_tokens_keep_hyphenated_forenames_whole() -> None:
    assert given_name_tokens("Mary-Anne Louise") == ("MARYANNE", "LOUISE")
    assert given_name_tokens("") == ()


@pytest.mark.parametrize(
    ("raw", "expected", "outward"),
    [
        ("m415sl", "M41 5SL", "M41"),
        (" WA14 2DT ", "WA14 2DT", "WA14"),
        ("sw1a1aa", "SW1A 1AA", "SW1A"),
        ("M1 1AE", "M1 1AE", "M1"),
        ("not a postcode", "NOTAPOSTCODE", None),
    ],
)
def test_postcodes_are_normalised_with_their_outward_code(
    raw: str, expected: str, outward: str | None
) -> None:
    assert normalise_postcode(raw) == expected
    assert postcode_outward(raw) == outward


def test_empty_postcode_is_none() -> None:
    assert normalise_postcode("") is None
    assert normalise_postcode("  ") is None
    assert postcode_outward(None) is None


def test_address_lines_abbreviate_street_words() -> None:
    assert normalise_address_line("12, Acre Road") == normalise_address_line("12 acre rd")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Bob", "Robert"),
        ("Peggy", "Margaret"),
        ("Bill", "William"),
        ("Ted", "Ned"),
        ("Liz", "Beth"),
    ],
)
def test_nicknames_are_equivalent(a: str, b: str) -> None:
    assert are_nickname_equivalent(a, b)
    assert are_nickname_equivalent(b, a)


def test_distinct_formal_names_sharing_a_nickname_are_not_equivalent() -> None:
    assert are_nickname_equivalent("Alex", "Alexander")
    assert are_nickname_equivalent("Alex", "Alexandra")
    assert not are_nickname_equivalent("Alexander", "Alexandra")
    assert not are_nickname_equivalent("Robert", "Robert")
    assert not are_nickname_equivalent("Robert", "William")


def test_nickname_table_is_data_and_formal_names_include_the_name() -> None:
    table = nickname_table()
    assert "ROBERT" in table["BOB"]
    assert formal_names("bob") == frozenset({"BOB", "ROBERT"})
    assert formal_names("") == frozenset()


def test_phonetic_codes_fold_common_spelling_variants() -> None:
    assert metaphone("Smith") == metaphone("Smyth")
    assert sounds_alike("Thomson", "Tomsen")
    assert sounds_alike("Catherine", "Katherine")
    assert not sounds_alike("Smith", "Jones")
    assert not sounds_alike("", "")
