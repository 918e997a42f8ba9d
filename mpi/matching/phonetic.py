"""Phonetic codes for names, from ``jellyfish`` (a maintained Rust implementation).

Two codes are used because they fail differently: Metaphone folds SMITH/SMYTH (SM0) and
CATHERINE/KATHERINE together where NYSIIS does not; NYSIIS folds THOMSON/TOMSEN (TANSAN) and
JONES/JONE together where Metaphone does not. Blocking keys use Metaphone (one key per name keeps
the index small); the surname comparison accepts agreement on either code.
"""

from __future__ import annotations

from functools import lru_cache

import jellyfish

from mpi.matching.normalise import compact_name

__all__ = ["metaphone", "nysiis", "sounds_alike"]


@lru_cache(maxsize=65536)
def metaphone(name: str) -> str:
    """Metaphone code of a name ("" for an empty name); cached since names repeat a lot."""
    key = compact_name(name)
    return jellyfish.metaphone(key) if key else ""


@lru_cache(maxsize=65536)
def nysiis(name: str) -> str:
    """NYSIIS code of a name ("" for an empty name)."""
    key = compact_name(name)
    return jellyfish.nysiis(key) if key else ""


def sounds_alike(a: str, b: str) -> bool:
    """True when two non-empty names share their Metaphone or their NYSIIS code."""
    if not compact_name(a) or not compact_name(b):
        return False
    return metaphone(a) == metaphone(b) or nysiis(a) == nysiis(b)
