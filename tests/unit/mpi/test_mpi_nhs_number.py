import pytest

from mpi import nhs_number
from mpi.nhs_number import InvalidNhsNumber


@pytest.mark.parametrize("number", ["9990000018", "999 000 0026", "999-000-0034", " 9990000042 "])
def test_valid_test_range_numbers_are_accepted(number: str) -> None:
    assert nhs_number.is_valid(number)
    assert nhs_number.validate(number) == nhs_number.normalise(number).strip()


def test_normalise_strips_spaces_and_dashes() -> None:
    assert nhs_number.normalise(" 999 000-0018 ") == "9990000018"


def test_format_groups_three_three_four() -> None:
    assert nhs_number.format("9990000018") == "999 000 0018"
    assert nhs_number.format("999-000-0018") == "999 000 0018"


def test_wrong_check_digit_is_rejected_with_the_expected_digit() -> None:
    assert not nhs_number.is_valid("9990000019")
    with pytest.raises(InvalidNhsNumber, match="expected 8"):
        nhs_number.validate("9990000019")


def test_check_digit_ten_is_never_issued() -> None:
    # Some nine-digit prefixes give a check digit of 10: no tenth digit can make them valid.
    nine = next(f"999{n:06d}" for n in range(1000) if nhs_number.check_digit(f"999{n:06d}") is None)
    for last in "0123456789":
        assert not nhs_number.is_valid(nine + last)
    with pytest.raises(InvalidNhsNumber, match="check digit would be 10"):
        nhs_number.validate(nine + "0")


@pytest.mark.parametrize("digit", "0123456789")
def test_all_same_digit_is_rejected_even_when_the_checksum_passes(digit: str) -> None:
    number = digit * 10
    assert not nhs_number.is_valid(number)
    with pytest.raises(InvalidNhsNumber):
        nhs_number.validate(number)


def test_all_same_digit_numbers_do_pass_the_bare_checksum() -> None:
    # The reason the rule exists: 000 000 0000 and 111 111 1111 pass modulus 11.
    assert nhs_number.check_digit("000000000") == 0
    assert nhs_number.check_digit("111111111") == 1


@pytest.mark.parametrize("nine", ["500000000", "850000000", "950000000", "312000000", "000000012"])
def test_never_issued_ranges_are_rejected_even_with_a_good_check_digit(nine: str) -> None:
    digit = nhs_number.check_digit(nine)
    assert digit is not None
    number = nine + str(digit)
    assert not nhs_number.is_valid(number)
    with pytest.raises(InvalidNhsNumber, match="never been issued"):
        nhs_number.validate(number)


@pytest.mark.parametrize(
    ("nine", "region"),
    [
        ("400000000", "england_wales"),
        ("600000000", "england_wales"),
        ("710000000", "england_wales"),
        ("010101000", "scotland"),
        ("320000000", "northern_ireland"),
    ],
)
def test_issued_ranges_are_accepted(nine: str, region: str) -> None:
    number = nine + str(nhs_number.check_digit(nine))
    assert nhs_number.is_valid(number, allow_test_range=False)
    assert nhs_number.issuing_region(number) == region


def test_test_range_can_be_refused() -> None:
    assert nhs_number.is_valid("9990000018")
    assert not nhs_number.is_valid("9990000018", allow_test_range=False)
    with pytest.raises(InvalidNhsNumber, match="999 test range"):
        nhs_number.validate("9990000018", allow_test_range=False)


@pytest.mark.parametrize("text", ["", None, "12345", "99900000181", "999000001X", "٩٩٩0000018"])
def test_malformed_input_is_invalid(text: str | None) -> None:
    assert not nhs_number.is_valid(text)
    with pytest.raises(InvalidNhsNumber):
        nhs_number.validate(text)


def test_invalid_nhs_number_is_a_value_error() -> None:
    assert issubclass(InvalidNhsNumber, ValueError)
