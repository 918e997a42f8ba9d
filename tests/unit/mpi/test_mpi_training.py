from bench.synthetic_people import generate
from mpi.matching.training import estimate_household_surname_u, train_model
from mpi.matching.weights import DEFAULT_MODEL


def test_training_on_synthetic_records_learns_sensible_weights() -> None:
    dataset = generate(3_000, seed=11)
    model = train_model(dataset.records, random_pairs=20_000, seed=11)
    w = model.level_weight
    assert w("dob", "exact") > w("dob", "typo") > 0 > w("dob", "different")
    assert w("forename", "exact") > 0 > w("forename", "different")
    assert w("surname", "exact") > 0 > w("surname", "different")
    assert w("address", "exact") > 0 > w("address", "different")
    # NHS number agreement keeps the base model's u: random pairs cannot measure it.
    assert model.u["nhs_number"]["exact"] == DEFAULT_MODEL.u["nhs_number"]["exact"]
    assert model.term_frequencies is not None
    assert 0.3 < model.household_surname_u < 1.0


def test_household_surname_share_needs_enough_households() -> None:
    dataset = generate(50, seed=3)
    assert estimate_household_surname_u(dataset.records, minimum_pairs=10_000) is None
