import json
from datetime import date

import pytest
from mpi_test_records import BASE, record

from mpi.matching.compare import FIELDS
from mpi.matching.decide import Thresholds, best_matches, score_pair, zone_for
from mpi.matching.vetoes import Veto


def test_clear_match_is_auto_linked() -> None:
    decision = score_pair(BASE, record(address_line="12 Acre Rd", given_names="Peggy Anne"))
    assert decision.zone == "auto_link"
    assert decision.vetoes == ()
    assert decision.probability > 0.999


def test_clear_non_match_is_a_new_person() -> None:
    stranger = record(
        family_name="Okafor",
        given_names="Chidi",
        dob=date(1990, 8, 21),
        sex="M",
        postcode="SK4 1AA",
        address_line="3 Station Road",
    )
    decision = score_pair(BASE, stranger)
    assert decision.zone == "new_person"
    assert decision.score < Thresholds().review


def test_ambiguous_pair_goes_to_review() -> None:
    # A nickname, a one-digit date slip and another address: probably her, but a person
    # should look.
    moved = record(
        given_names="Peggy", dob=date(1948, 3, 8), postcode="WA14 2DT", address_line="1 Park Lane"
    )
    decision = score_pair(BASE, moved)
    assert decision.zone == "review"
    assert Thresholds().review <= decision.score < Thresholds().auto_link


def test_twins_are_never_auto_linked_however_high_the_score() -> None:
    twin = record(given_names="Dorothy Anne")
    decision = score_pair(BASE, twin, thresholds=Thresholds(auto_link=0.0, review=0.0))
    assert decision.zone == "review"
    assert "twins" in {v.code for v in decision.vetoes}


def test_vetoed_low_scoring_pair_stays_a_new_person() -> None:
    a = record("A", nhs_number="9990000018")
    stranger = record(
        "B", nhs_number="9990000026", family_name="Okafor", given_names="Chidi", sex="M"
    )
    decision = score_pair(a, stranger, thresholds=Thresholds(auto_link=100.0, review=99.0))
    assert decision.vetoes
    assert decision.zone == "new_person"


def test_explanation_has_a_row_per_field_and_sums_to_the_score() -> None:
    decision = score_pair(BASE, record(given_names="Peggy", dob=date(1948, 7, 3)))
    assert tuple(row.field for row in decision.explanation) == FIELDS
    assert sum(row.weight for row in decision.explanation) == pytest.approx(decision.score)
    rows = {row.field: row for row in decision.explanation}
    assert rows["forename"].level == "nickname"
    assert rows["forename"].value_a == "Margaret Anne"
    assert rows["forename"].value_b == "Peggy"
    assert rows["dob"].level == "swap"
    assert rows["dob"].description == "day and month swapped"
    assert rows["nhs_number"].weight == 0.0


def test_decision_serialises_to_json_for_the_clerk_page() -> None:
    decision = score_pair(BASE, record(given_names="Dorothy"))
    data = json.loads(json.dumps(decision.as_dict()))
    assert data["zone"] == decision.zone
    assert data["vetoes"][0]["code"] == "twins"
    assert len(data["explanation"]) == len(FIELDS)


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError):
        Thresholds(auto_link=5.0, review=10.0)


def test_zone_for_caps_vetoed_pairs_at_review() -> None:
    thresholds = Thresholds(auto_link=20.0, review=10.0)
    veto = (Veto("twins", "possibly twins"),)
    assert zone_for(25.0, (), thresholds) == "auto_link"
    assert zone_for(25.0, veto, thresholds) == "review"
    assert zone_for(15.0, (), thresholds) == "review"
    assert zone_for(5.0, veto, thresholds) == "new_person"


def test_best_matches_orders_by_score_and_drops_new_people() -> None:
    exact = record("SAME")
    nickname = record("NICK", given_names="Peggy", postcode="M41 5SN")
    stranger = record("OTHER", family_name="Okafor", given_names="Chidi", dob=date(1990, 1, 2))
    decisions = best_matches(BASE, [stranger, nickname, exact])
    assert [d.record_id_b for d in decisions] == ["SAME", "NICK"]
    assert decisions[0].zone == "auto_link"


def test_best_matches_refuses_to_choose_between_two_strong_candidates() -> None:
    one = record("P1")
    other = record("P2", address_line="12 Acre Rd")
    decisions = best_matches(BASE, [one, other])
    assert decisions[0].zone == "review"
    assert "ambiguous" in {v.code for v in decisions[0].vetoes}


def test_best_matches_respects_the_limit() -> None:
    candidates = [record(f"R{i}") for i in range(5)]
    assert len(best_matches(BASE, candidates, limit=2)) == 2


@pytest.mark.parametrize("with_frequencies", [False, True])
def test_best_matches_skipping_low_scores_decides_as_deciding_every_pair(with_frequencies) -> None:
    """Candidates below the review threshold are only scored, never explained: the result
    must be what fully deciding every candidate and dropping the new-person zone gives,
    on synthetic people with their slips, twins and namesakes (blocks as the index has them)."""
    from bench.synthetic_people import generate
    from mpi.matching.blocking import candidate_pairs
    from mpi.matching.weights import DEFAULT_MODEL, TermFrequencies

    data = generate(600, 5)
    model = DEFAULT_MODEL
    if with_frequencies:
        model = model.with_term_frequencies(TermFrequencies.from_records(data.records))
    neighbours: dict[int, list[int]] = {}
    for i, j in sorted(candidate_pairs(data.records, max_block_size=200)):
        neighbours.setdefault(i, []).append(j)
        neighbours.setdefault(j, []).append(i)
    zones: set[str] = set()
    skipped = ambiguous = 0
    for i, others in neighbours.items():
        candidates = [data.records[j] for j in others]
        every = best_matches(
            data.records[i], candidates, model, limit=len(candidates), include_new_person=True
        )
        expected = [d for d in every if d.zone != "new_person"][:5]
        assert best_matches(data.records[i], candidates, model, limit=5) == expected
        zones.update(d.zone for d in every)
        skipped += sum(d.zone == "new_person" for d in every)
        ambiguous += any(v.code == "ambiguous" for d in expected for v in d.vetoes)
    # The set exercised every zone, the ambiguity rule and the shortcut itself.
    assert zones == {"auto_link", "review", "new_person"}
    assert skipped > 100 and ambiguous > 10
