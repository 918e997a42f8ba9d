"""The A08 written field by field is byte for byte the one hl7apy builds (its reference).

The outbound queue builds one A08 per changed patient; the nightly GP feed may change
thousands in a chunk, and hl7apy takes milliseconds a message. ``build_a08`` writes the same
bytes directly; this pins it to ``build_a08_hl7apy`` on synthetic people and on the awkward
values (HL7 delimiters and escape characters, blanks in every position, non-ASCII names).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bench.synthetic_people import generate
from integration.outbound.builders import build_a08, build_a08_hl7apy
from mpi.models import Patient, PatientIdentifier

AT = datetime(2026, 12, 1, 8, 0, 5, tzinfo=UTC)


def _patient(identifiers: list[tuple[str, str, str]] = (), **fields) -> Patient:  # type: ignore[assignment]
    return Patient(
        identifiers=[PatientIdentifier(value=v, authority=a, id_type=t) for v, a, t in identifiers],
        **fields,
    )


AWKWARD = [
    _patient(
        [("RM1", "WGH", "MR"), ("G1", "GP:P84001", "PI")],
        family_name="JO|NES",
        given_names="John^Paul~x",
        date_of_birth=date(1958, 3, 12),
        sex="M",
        address="9 New St\\, Urm&ston",
        postcode="M41 0AA",
        nhs_number="9990000018",
    ),
    _patient(family_name="X", given_names=""),
    _patient(family_name="", given_names="Ann", postcode="M1 1AA"),
    _patient(family_name="", given_names="", address="1 Road"),
    _patient(
        [("9990000018", "NHS", "NH")],
        family_name="Ó'Brien",
        given_names="Zoë",
        nhs_number="9990000018",
    ),
    _patient([("A&E1", "WGH&AE", "")], family_name="Smith", given_names="Al", sex="U"),
    _patient(family_name="Lee", given_names="Bo", nhs_number="1234567890"),
]


@pytest.mark.parametrize("patient", AWKWARD)
def test_awkward_values_give_the_same_bytes(patient: Patient) -> None:
    assert build_a08(patient, "WBO1", AT) == build_a08_hl7apy(patient, "WBO1", AT)


def test_synthetic_people_give_the_same_bytes() -> None:
    people = generate(300, 3).records
    for n, r in enumerate(people):
        ids = [(r.record_id, "WGH", "MR")] if n % 3 else []
        if n % 4 == 0:
            ids.append((f"G{n}", f"GP:P8{n % 7:04d}", "PI"))
        patient = _patient(
            ids,
            family_name=r.family_name,
            given_names=r.given_names,
            date_of_birth=r.dob,
            sex=r.sex,
            address=r.address_line or None,
            postcode=r.postcode,
            nhs_number=r.nhs_number,
        )
        assert build_a08(patient, f"WBO{n}", AT) == build_a08_hl7apy(patient, f"WBO{n}", AT), n
