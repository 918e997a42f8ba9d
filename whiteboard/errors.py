"""Errors a command can raise because of what it asked, not because we broke.

Each carries an HL7 table 0357 code so the integration layer can answer with a precise ERR,
and a sentence a person fixing the error queue can act on.
"""

from __future__ import annotations


class RecordError(Exception):
    hl7_code = "207"  # application internal error

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownLocation(RecordError):
    """A ward we have no layout for: add it to the layout file, then replay the message."""

    hl7_code = "103"  # table value not found


class NoSuchStay(RecordError):
    hl7_code = "204"  # unknown key identifier


class InvalidCommand(RecordError):
    hl7_code = "101"  # required field missing


class EddNotCurrent(RecordError):
    """EDD gating: a doctor's action refused because the patient's EDD is not current."""

    hl7_code = "207"
    rule = "edd-gating"


class UnknownPatient(RecordError):
    """A merge names a prior identifier no record holds."""

    hl7_code = "204"  # unknown key identifier


class NoSuchResult(RecordError):
    hl7_code = "204"  # unknown key identifier


class ResultNotAcknowledgeable(RecordError):
    """The result is already acknowledged, or is only preliminary: the body's ``rule`` says
    which (the final or corrected report is the one a clinician acknowledges)."""

    hl7_code = "207"

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.rule = rule
