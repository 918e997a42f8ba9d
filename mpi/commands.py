"""Identity commands: what a records clerk (or an HL7 A40, or the sweep) asks the index to do."""

from __future__ import annotations

from dataclasses import dataclass

from whiteboard.commands import Command


@dataclass(frozen=True)
class MergePatients(Command):
    """Fold ``merged_id`` into ``survivor_id``.

    ``take_from_merged`` names the demographic fields whose value the survivor should take from
    the merged record (the clerk's "choose surviving values"); every other field keeps the
    survivor's value, blanks are filled from the merged record.
    """

    survivor_id: int
    merged_id: int
    take_from_merged: tuple[str, ...] = ()
    review_pair_id: int | None = None
    actor: str = ""
    reason: str = ""


@dataclass(frozen=True)
class UnmergePatients(Command):
    merge_id: int
    actor: str = ""


@dataclass(frozen=True)
class MarkNotDuplicate(Command):
    review_pair_id: int
    actor: str = ""


@dataclass(frozen=True)
class DeferReviewPair(Command):
    review_pair_id: int
    actor: str = ""


@dataclass(frozen=True)
class UnlinkIdentifier(Command):
    """Undo a wrong link: the local identifier (and the stays named) become a patient of their own.

    For a link made by matching (an auto-link attaches a local number to an existing person);
    a merge is undone with ``UnmergePatients`` instead.
    """

    identifier_id: int
    stay_ids: tuple[int, ...] = ()
    actor: str = ""
