"""Identity events, published after commit: boards refresh the wards they name, and the
integration engine's outbound queue turns them into A40 (merge) and A08 (correction)."""

from __future__ import annotations

from dataclasses import dataclass

from whiteboard.events import Event


@dataclass(frozen=True)
class PatientsMerged(Event):
    merge_id: int
    survivor_id: int
    merged_id: int
    on_wards: tuple[str, ...] = ()

    @property
    def wards(self) -> tuple[str, ...]:
        return self.on_wards


@dataclass(frozen=True)
class PatientsUnmerged(Event):
    merge_id: int
    survivor_id: int
    merged_id: int
    on_wards: tuple[str, ...] = ()

    @property
    def wards(self) -> tuple[str, ...]:
        return self.on_wards


@dataclass(frozen=True)
class PatientDetailsCorrected(Event):
    """A record's details were corrected: name, date of birth, sex or NHS number by a merge or
    an unlink (John Jone -> John Jones), or whatever the nightly GP feed changed or linked
    (``mpi.feed_events``). ``fields`` names what changed (``identifiers`` for a link); the
    outbound queue sends one A08 per patient per transaction."""

    patient_id: int
    fields: tuple[str, ...]
    on_wards: tuple[str, ...] = ()

    @property
    def wards(self) -> tuple[str, ...]:
        return self.on_wards
