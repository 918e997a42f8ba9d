"""Board patches: applying the diff of two snapshots to the first gives the second, always."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from whiteboard.board.patch import BoardFollower, apply_patch, diff, digest, sealed

keys = st.sampled_from([f"s-{i}" for i in range(8)])
patient = st.fixed_dictionaries(
    {
        "key": keys,
        "display_name": st.sampled_from(["JONES, Ann", "JONE, John", "SMITH, Bob"]),
        "bed": st.none() | st.sampled_from(["A1", "A2", "B1"]),
        "alerts": st.lists(st.sampled_from(["vte", "news", "edd"]), max_size=3),
    }
)
bay = st.fixed_dictionaries(
    {
        "code": st.sampled_from(["A", "B", "C", ""]),
        "beds": st.lists(
            st.fixed_dictionaries(
                {"code": st.sampled_from(["1", "2"]), "status": st.text("UOH", max_size=1)}
            ),
            max_size=3,
        ),
    }
)


def unique_by(field: str):  # type: ignore[no-untyped-def]
    return lambda items: list({item[field]: item for item in items}.values())


snapshot = st.fixed_dictionaries(
    {
        "version": st.integers(0, 5),
        "generated_at": st.sampled_from(["2026-12-01T09:00:00", "2026-12-01T09:00:01"]),
        "patients": st.lists(patient, max_size=6).map(unique_by("key")),
        "bays": st.lists(bay, max_size=4).map(unique_by("code")),
    },
    optional={
        "breaches": st.lists(st.text(max_size=3), max_size=2),
        "beds_due_free": st.dictionaries(st.sampled_from(["today", "tomorrow"]), st.integers(0, 3)),
        # Duplicate keys: such a list is sent whole, never entry by entry.
        "odd": st.lists(st.fixed_dictionaries({"key": st.just("x")}), max_size=2),
    },
)


@settings(max_examples=300)
@given(snapshot, snapshot)
def test_applying_the_diff_gives_the_new_snapshot(old, new):
    patch = diff(old, new)
    assert apply_patch(old, patch) == new
    json.dumps(patch)  # it goes over the wire as JSON


@given(snapshot)
def test_no_change_is_an_empty_patch_and_the_same_digest(snap):
    assert diff(snap, dict(snap)) == {}
    later = {**snap, "generated_at": "2026-12-01T10:00:00"}
    assert digest(later) == digest(snap)


def test_one_patient_changed_sends_that_patient_only():
    patients = [{"key": f"s-{i}", "display_name": f"P{i}", "alerts": []} for i in range(30)]
    old = sealed({"version": 1, "patients": patients, "bays": []})
    changed = [dict(p) for p in patients]
    changed[7]["alerts"] = [{"kind": "vte", "level": "red"}]
    new = sealed({"version": 2, "patients": changed, "bays": []})
    patch = diff(old, new)
    assert patch["lists"]["patients"] == {"key": "key", "upsert": [changed[7]]}
    assert set(patch["set"]) == {"version", "digest"}
    assert len(json.dumps(patch)) < len(json.dumps(new)) / 5


def test_a_follower_applies_patches_in_a_chain_and_refuses_one_made_against_another_base():
    first = sealed({"version": 1, "patients": [{"key": "s-1", "display_name": "A"}]})
    second = sealed({"version": 2, "patients": [{"key": "s-1", "display_name": "B"}]})
    third = sealed({"version": 3, "patients": []})
    follower = BoardFollower()
    follower.on_board({"ward": "AMU", "version": 1, "snapshot": first})
    patch_2 = {"ward": "AMU", "version": 2, "base": first["digest"], "patch": diff(first, second)}
    assert follower.on_patch(patch_2) == second
    # A patch against a snapshot this screen never had (it missed one): refused, resync once.
    stale = {"ward": "AMU", "version": 3, "base": first["digest"], "patch": diff(first, third)}
    assert follower.on_patch(stale) is None
    assert follower.resync_due() is True
    assert follower.resync_due() is False  # asked already; wait for the whole board
    follower.on_board({"ward": "AMU", "version": 3, "snapshot": third})
    assert follower.snapshot == third and follower.resyncs == 1
