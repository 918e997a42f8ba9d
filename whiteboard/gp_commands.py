"""Commands about the GP record synopsis and practices' sharing authorisations.

The HL7 translator (ADT^A31 with AL1/DG1/PR1/OBX), the GP's JSON API and the CLI file import
all build ``RecordGpSynopsis``, so a synopsis is stored the same way whichever route it came by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from whiteboard.commands import Command, PatientDetails

SEVERITIES = ("severe", "moderate", "mild", "unknown")


@dataclass(frozen=True)
class Medication:
    name: str
    dose: str = ""
    started: date | None = None


@dataclass(frozen=True)
class Allergy:
    substance: str
    reaction: str = ""
    severity: str = "unknown"  # one of SEVERITIES


@dataclass(frozen=True)
class SignificantEvent:
    description: str
    event_date: date | None = None


@dataclass(frozen=True)
class SynopsisContent:
    medications: tuple[Medication, ...] = ()
    allergies: tuple[Allergy, ...] = ()
    events: tuple[SignificantEvent, ...] = ()


@dataclass(frozen=True)
class RecordGpSynopsis(Command):
    """Store a practice's latest synopsis for one of its registered patients.

    ``occurred_at`` is when the practice took the summary (its "as of"). The patient is named
    either by the sender's demographics (HL7: ``patient``, which also updates the person as any
    A31 does) or by NHS number alone (JSON: ``nhs_number``, which must already be known here).
    """

    practice: str
    content: SynopsisContent
    patient: PatientDetails | None = None
    nhs_number: str | None = None


@dataclass(frozen=True)
class AuthoriseGpSharing(Command):
    practice: str
    authorised_by: str  # the person at the practice who gave the authorisation
    recorded_by: str  # the administrator entering it
    note: str = ""


@dataclass(frozen=True)
class RevokeGpSharing(Command):
    practice: str
    revoked_by: str
