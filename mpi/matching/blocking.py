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

from mpi.matching.phonetic import metaphone
from mpi.matching.prepared import PreparedRecord, prepare
from mpi.matching.record import PersonRecord

__all__ = ["KEY_FAMILIES", "blocking_keys", "candidate_pairs"]

KEY_FAMILIES: tuple[str, ...] = ("N", "ND", "DP", "NY", "NM", "NP", "NN")


def _surname_codes(p: PreparedRecord) -> set[str]:
    names = {p.surname, *p.previous_surnames}
    if len(p.surname_parts) > 1:
        names.update(p.surname_parts)
    return {code for code in (metaphone(n) for n in names if n) if code}


def _forename_codes(p: PreparedRecord) -> set[str]:
    return {code for code in (metaphone(n) for n in p.forename_formal) if code}


def _forename_initials(p: PreparedRecord) -> set[str]:
    return {n[0] for n in p.forename_formal if n}


def blocking_keys(record: PersonRecord | PreparedRecord) -> set[str]:
    """Every blocking key of a record, as plain strings such as ``ND:SM0:19800307``."""
    p = prepare(record)
    keys: set[str] = set()
    if p.nhs_number:
        keys.add(f"N:{p.nhs_number}")
    surnames = _surname_codes(p)
    forenames = _forename_codes(p)
    initials = _forename_initials(p)
    postcodes = [pc for pc in (p.postcode, *p.previous_postcodes) if pc]
    outwards = {o for o in (p.outward, *p.previous_outwards) if o}
    if p.dob is not None:
        low, high = sorted((p.dob.day, p.dob.month))
        day_month = f"{low:02d}{high:02d}"
        dob = f"{p.dob.year:04d}{day_month}"
        for code in surnames | forenames:
            keys.add(f"ND:{code}:{dob}")
        for outward in outwards:
            keys.add(f"DP:{dob}:{outward}")
        for code in surnames:
            for initial in initials:
                keys.add(f"NY:{code}:{initial}:{p.dob.year:04d}")
                keys.add(f"NM:{code}:{initial}:{day_month}")
    for code in surnames | forenames:
        for postcode in postcodes:
            keys.add(f"NP:{code}:{postcode.replace(' ', '')}")
    for surname in surnames:
        for forename in forenames:
            first, second = sorted((surname, forename))
            keys.add(f"NN:{first}:{second}")
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
