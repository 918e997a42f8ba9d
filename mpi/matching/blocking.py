"""Blocking keys: the indexed strings through which candidates are found, never a full scan.

The database stores every key of every record in an indexed table; a search computes the
incoming record's keys and scores only the records that share at least one. Each key family
is built to survive a different kind of error, so a duplicate is missed only when it has
errors that defeat all of them at once:

====  ==============================================  ===========================================
key   made of                                         still finds the duplicate when
====  ==============================================  ===========================================
N     valid NHS number                                everything else differs
ND    a name's Metaphone + date of birth              one name is wrong, married name, swapped
      (surname, previous surnames, forename and its   forename/surname, nickname, moved house
      formal names; day and month unordered)          (and day/month swapped)
DP    date of birth + postcode district (current      both names are wrong or changed
      and previous; day and month unordered)
NY    surname Metaphone + forename initial + year     day or month mistyped
NM    surname Metaphone + forename initial + day and  year mistyped
      month (unordered)
NP    any name's Metaphone (as in ND) + full          date of birth wrong or a placeholder, even
      postcode (current and previous)                 with one name changed or names swapped
NN    surname and forename Metaphones, in either      date of birth missing, or wrong and moved
      order
====  ==============================================  ===========================================

Day and month are put in ascending order inside a key so that 03/07 and 07/03 give the same key.
Forename initials and codes are taken from the forename and every formal name it is a nickname
for (BOB gives B and R), so Bob still meets Robert.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from mpi.matching.phonetic import metaphone
from mpi.matching.prepared import PreparedRecord, prepare
from mpi.matching.record import PersonRecord

__all__ = ["KEY_FAMILIES", "blocking_keys", "candidate_pairs"]

KEY_FAMILIES: tuple[str, ...] = ("N", "ND", "DP", "NY", "NM", "NP", "NN")


@dataclass(frozen=True, slots=True)
class _NameKeys:
    """A record's keys as far as its names make them: prefixes each completed with a date of
    birth or postcode part, and the name-only keys whole."""

    nd: tuple[str, ...]  # "ND:code:" + dob
    ny: tuple[str, ...]  # "NY:code:initial:" + year
    nm: tuple[str, ...]  # "NM:code:initial:" + day and month
    np: tuple[str, ...]  # "NP:code:" + postcode without its space
    nn: frozenset[str]


@lru_cache(maxsize=1 << 17)
def _surname_codes(
    surname: str, previous: tuple[str, ...], parts: tuple[str, ...]
) -> tuple[str, ...]:
    """Metaphones of the surname, previous surnames and a double-barrelled name's parts."""
    names = {surname, *previous}
    if len(parts) > 1:
        names.update(parts)
    return tuple(sorted({code for code in (metaphone(n) for n in names if n) if code}))


@lru_cache(maxsize=1 << 16)
def _forename_codes(formal: frozenset[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Metaphones and initials of the forename and the formal names it may stand for."""
    codes = tuple(sorted({code for code in (metaphone(n) for n in formal) if code}))
    return codes, tuple(sorted({n[0] for n in formal if n}))


@lru_cache(maxsize=1 << 17)
def _name_keys(
    surnames: tuple[str, ...], forenames: tuple[str, ...], initials: tuple[str, ...]
) -> _NameKeys:
    """Cached per combination of codes (far fewer than of names: Metaphone folds spellings)."""
    codes = sorted({*surnames, *forenames})
    nn = set()
    for surname_code in surnames:
        for forename_code in forenames:
            first, second = sorted((surname_code, forename_code))
            nn.add(f"NN:{first}:{second}")
    return _NameKeys(
        nd=tuple(f"ND:{code}:" for code in codes),
        ny=tuple(f"NY:{code}:{initial}:" for code in surnames for initial in initials),
        nm=tuple(f"NM:{code}:{initial}:" for code in surnames for initial in initials),
        np=tuple(f"NP:{code}:" for code in codes),
        nn=frozenset(nn),
    )


@lru_cache(maxsize=1 << 16)
def _dob_parts(dob: date) -> tuple[str, str, str]:
    """Year, day and month in ascending order, and the two together (``ND`` and ``DP``)."""
    low, high = sorted((dob.day, dob.month))
    day_month = f"{low:02d}{high:02d}"
    year = f"{dob.year:04d}"
    return year, day_month, f"{year}{day_month}"


def blocking_keys(record: PersonRecord | PreparedRecord) -> set[str]:
    """Every blocking key of a record, as plain strings such as ``ND:SM0:19800307``.

    The name-made parts are cached per name and per combination of codes (``_name_keys``);
    what is left per record is joining them with its date of birth and postcodes."""
    p = prepare(record)
    names = _name_keys(
        _surname_codes(p.surname, p.previous_surnames, p.surname_parts),
        *_forename_codes(p.forename_formal),
    )
    keys: set[str] = set(names.nn)
    if p.nhs_number:
        keys.add(f"N:{p.nhs_number}")
    if p.dob is not None:
        year, day_month, dob = _dob_parts(p.dob)
        keys.update([prefix + dob for prefix in names.nd])
        if p.outward:
            keys.add(f"DP:{dob}:{p.outward}")
        for outward in p.previous_outwards:
            keys.add(f"DP:{dob}:{outward}")
        keys.update([prefix + year for prefix in names.ny])
        keys.update([prefix + day_month for prefix in names.nm])
    if names.np:
        for postcode in (p.postcode, *p.previous_postcodes):
            if postcode:
                compact = postcode.replace(" ", "")
                keys.update([prefix + compact for prefix in names.np])
    return keys


def candidate_pairs(
    records: Sequence[PersonRecord | PreparedRecord],
    *,
    max_block_size: int | None = None,
    families: Iterable[str] = KEY_FAMILIES,
    progress: Callable[[int, int], None] | None = None,
) -> set[tuple[int, int]]:
    """Index pairs ``(i, j)``, ``i < j``, of records sharing at least one key (batch use).

    This is the in-memory equivalent of the indexed key table, for the benchmark and for a
    nightly duplicate sweep. Blocks larger than ``max_block_size`` are skipped (and would be
    in the database too) so that one very common key cannot make the work quadratic.
    """
    wanted = tuple(f"{family}:" for family in families)
    blocks: dict[str, list[int]] = defaultdict(list)
    total = len(records)
    for index, record in enumerate(records):
        for key in blocking_keys(record):
            if key.startswith(wanted):
                blocks[key].append(index)
        if progress is not None and (index + 1) % 5000 == 0:
            progress(index + 1, total)
    pairs: set[tuple[int, int]] = set()
    for members in blocks.values():
        size = len(members)
        if size < 2 or (max_block_size is not None and size > max_block_size):
            continue
        for x in range(size):
            first = members[x]
            for y in range(x + 1, size):
                second = members[y]
                pairs.add((first, second) if first < second else (second, first))
    return pairs
