"""UK nicknames (Bob for Robert, Peggy for Margaret), read from ``data/nicknames.csv``.

String similarity cannot see that Peggy is Margaret, so the forename comparison and the
blocking keys ask this table. The table is data, not code, so that records staff can extend it;
it is read on first use and cached, never at import.
"""

from __future__ import annotations

import csv
from functools import cache, lru_cache
from importlib import resources

from mpi.matching.normalise import compact_name

__all__ = ["are_nickname_equivalent", "formal_names", "nickname_table"]


@cache
def nickname_table() -> dict[str, frozenset[str]]:
    """Nickname -> the formal names it can stand for, all upper-case and letters only."""
    table: dict[str, set[str]] = {}
    source = resources.files("mpi.matching").joinpath("data", "nicknames.csv")
    with source.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            nickname = compact_name(row["nickname"])
            formal = compact_name(row["formal"])
            if nickname and formal and nickname != formal:
                table.setdefault(nickname, set()).add(formal)
    return {nickname: frozenset(formals) for nickname, formals in table.items()}


@lru_cache(maxsize=1 << 16)
def formal_names(name: str) -> frozenset[str]:
    """The name itself plus every formal name it is a nickname for (BOB -> BOB, ROBERT).

    Cached (names repeat; the result is immutable)."""
    key = compact_name(name)
    if not key:
        return frozenset()
    return frozenset({key}) | nickname_table().get(key, frozenset())


def are_nickname_equivalent(a: str, b: str) -> bool:
    """True when two different forenames can name the same person (Bob/Robert, Ted/Ned).

    Two names are equivalent when one is a nickname of the other or both are nicknames of the
    same formal name; ALEX is equivalent to ALEXANDER and to ALEXANDRA, but ALEXANDER and
    ALEXANDRA are not equivalent to each other.
    """
    key_a, key_b = compact_name(a), compact_name(b)
    if not key_a or not key_b or key_a == key_b:
        return False
    return bool(formal_names(key_a) & formal_names(key_b))
