from datetime import date

from mpi_test_records import BASE, record

from mpi.matching.blocking import KEY_FAMILIES, blocking_keys, candidate_pairs


def shares_a_key(a, b) -> bool:
    return bool(blocking_keys(a) & blocking_keys(b))


def test_keys_are_plain_strings_from_known_families() -> None:
    keys = blocking_keys(record(nhs_number="9990000018"))
    assert keys
    assert all(isinstance(k, str) and k.split(":", 1)[0] in KEY_FAMILIES for k in keys)
    assert "N:9990000018" in keys


def test_blocking_is_deterministic_and_ignores_case_and_spacing() -> None:
    shouty = record(family_name="ACKWORTH", given_names="MARGARET ANNE", postcode="m415sl")
    assert blocking_keys(BASE) == blocking_keys(shouty)


def test_hard_duplicates_still_share_a_key() -> None:
    cases = [
        record(given_names="Peggy"),  # nickname
        record(dob=date(1948, 7, 3)),  # day/month swap
        record(dob=date(1958, 3, 7), postcode="WA14 2DT"),  # year typo and moved
        record(family_name="Jones", previous_family_names=("Ackworth",)),  # married, history
        record(family_name="Jones", postcode="WA14 2DT"),  # married, moved, no history
        record(given_names="Ackworth", family_name="Margaret"),  # transposed
        record(dob=date(1948, 1, 1), dob_placeholder=True),  # placeholder
        record(dob=None),  # missing date of birth
        record(postcode="WA14 2DT", previous_postcodes=("M41 5SL",), dob=date(1948, 3, 9)),
    ]
    for duplicate in cases:
        assert shares_a_key(BASE, duplicate), duplicate


def test_strangers_do_not_share_keys() -> None:
    stranger = record(
        family_name="Okafor",
        given_names="Chidi",
        dob=date(1990, 8, 21),
        postcode="SK4 1AA",
    )
    assert not shares_a_key(BASE, stranger)


def test_same_nhs_number_is_enough_to_meet() -> None:
    a = record("A", nhs_number="9990000018")
    b = record(
        "B",
        nhs_number="9990000018",
        family_name="Okafor",
        given_names="Chidi",
        dob=date(1990, 8, 21),
        postcode="SK4 1AA",
    )
    assert shares_a_key(a, b)


def test_candidate_pairs_finds_sharing_records_and_skips_huge_blocks() -> None:
    records = [
        BASE,
        record("B", given_names="Peggy"),
        record(
            "C",
            family_name="Okafor",
            given_names="Chidi",
            dob=date(1990, 8, 21),
            postcode="SK4 1AA",
        ),
    ]
    assert candidate_pairs(records) == {(0, 1)}
    crowd = [record(f"R{i}") for i in range(6)]
    assert len(candidate_pairs(crowd)) == 15
    assert candidate_pairs(crowd, max_block_size=5) == set()
