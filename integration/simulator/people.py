"""Synthetic patients for the simulator: plausible UK names, ages and addresses.

NHS numbers come from the 999 test range (valid check digit, never issued to a person).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from mpi.nhs_number import check_digit

FAMILY = (
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans "
    "Walker White Roberts Green Hall Wood Jackson Clarke Patel Khan Hughes Edwards Lewis "
    "O'Brien Murphy Kelly Nowak Kowalski Ahmed Hussain Begum Singh Okafor Mensah Lloyd "
    "Morgan Price Bennett Shaw Holmes Kaur Ali Fletcher Chadwick Pritchard Ashworth"
).split()
MALE = (
    "John David Michael Peter James Robert William Thomas Mohammed Stephen Gareth Dylan "
    "Harry Oliver Jack George Kwame Tomasz Arjun Dafydd Sean Paul Brian Kenneth"
).split()
FEMALE = (
    "Margaret Susan Mary Elizabeth Sarah Patricia Jennifer Siân Aisha Fatima Olivia Amelia "
    "Emily Grace Chloe Priya Agnieszka Niamh Catrin Joan Dorothy Barbara Jean Eileen"
).split()
STREETS = (
    "Church Road, Sale|High Street, Urmston|Moorside Road, Davyhulme|Chester Road, Stretford|"
    "Washway Road, Sale|Park Road, Timperley|Manchester Road, Altrincham|Flixton Road, Flixton"
).split("|")
POSTCODE_AREAS = ("M33", "M41", "M32", "WA14", "WA15", "M31", "M16")


@dataclass(frozen=True)
class SimPatient:
    hospital_number: str
    nhs_number: str
    family_name: str
    given_name: str
    sex: str
    date_of_birth: date
    address: str
    postcode: str
    gp_practice: str


def test_range_nhs_number(rng: random.Random) -> str:
    while True:
        first_nine = f"999{rng.randrange(0, 1_000_000):06d}"
        digit = check_digit(first_nine)
        if digit is not None:
            return f"{first_nine}{digit}"


class PatientFactory:
    def __init__(self, rng: random.Random, practices: tuple[str, ...], today: date) -> None:
        self._rng = rng
        self._practices = practices or ("P84001",)
        self._today = today
        self._serial = rng.randrange(100_000, 500_000)
        # NHS numbers are unique to a person; a random draw from the test range repeats
        # within a few thousand people, and the index would rightly take them for one.
        self._nhs_numbers: set[str] = set()

    def _unique_nhs_number(self) -> str:
        while True:
            number = test_range_nhs_number(self._rng)
            if number not in self._nhs_numbers:
                self._nhs_numbers.add(number)
                return number

    def make(self, min_age: int = 16, max_age: int = 98) -> SimPatient:
        rng = self._rng
        self._serial += 1
        sex = rng.choice("MF")
        given = rng.choice(MALE if sex == "M" else FEMALE)
        age_days = rng.randrange(min_age * 365, max_age * 365)
        house = rng.randrange(1, 180)
        street = rng.choice(STREETS)
        letters = "ABDEFGHJLNPQRSTUWXY"
        inward = f"{rng.randrange(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
        postcode = f"{rng.choice(POSTCODE_AREAS)} {inward}"
        return SimPatient(
            hospital_number=f"RM3{self._serial:07d}",
            nhs_number=self._unique_nhs_number(),
            family_name=rng.choice(FAMILY),
            given_name=given,
            sex=sex,
            date_of_birth=self._today - timedelta(days=age_days),
            address=f"{house} {street}",
            postcode=postcode,
            gp_practice=rng.choice(self._practices),
        )
