"""The simulated hospital's state: who is where, which beds are free or being cleaned.

It decides the next plausible event (an A&E arrival, an admission from A&E, a transfer, a
discharge, a bed cleaned, a correction) and writes it as HL7, keeping its own picture of the
hospital consistent with what it has sent.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from config.layout import Layout
from integration.simulator.messages import Doctor, MessageWriter
from integration.simulator.people import PatientFactory, SimPatient

Bed = tuple[str, str, str]  # ward, bay, bed


@dataclass
class Occupant:
    patient: SimPatient
    visit_number: str
    patient_class: str
    ward: str
    location: Bed | None
    doctor: Doctor
    admitted_at: datetime
    # Admitted from A&E: cancelling such an admission puts the patient back in A&E (the
    # system does exactly that), which this model does not follow, so it cancels direct ones.
    from_ae: bool = False


@dataclass
class Outgoing:
    control_id: str
    payload: bytes
    description: str


@dataclass
class HospitalModel:
    layout: Layout
    rng: random.Random
    tz: ZoneInfo
    clock: Callable[[], datetime]
    cleaning_seconds: tuple[float, float] = (20.0, 90.0)
    writer: MessageWriter = field(init=False)
    factory: PatientFactory = field(init=False)

    def __post_init__(self) -> None:
        self.writer = MessageWriter(self.tz)
        practices = tuple(p.ods_code for p in self.layout.gp_practices)
        self.factory = PatientFactory(self.rng, practices, self.clock().date())
        self.beds: dict[str, list[Bed]] = {
            w.code: [(w.code, bay.code, bed) for bay in w.bays for bed in bay.beds]
            for w in self.layout.wards
        }
        self.ae_codes = [w.code for w in self.layout.wards if w.kind == "ae"]
        self.ward_codes = [w.code for w in self.layout.wards if w.kind == "ward"]
        self.occupied: dict[Bed, str] = {}
        self.cleaning: dict[Bed, datetime] = {}
        self.people: dict[str, Occupant] = {}
        self._visits = self.rng.randrange(100_000, 900_000)
        doctors = {c.home_ward: [] for c in self.layout.consultants}
        for c in self.layout.consultants:
            doctors[c.home_ward].append(Doctor(c.code, c.family_name, c.given_names))
        fallback = [Doctor("C0000001", "Duty", "Doctor")]
        self.doctors = {w.code: doctors.get(w.code) or fallback for w in self.layout.wards}

    # --- what can happen -------------------------------------------------------------

    def initial_fill(self, ward_fraction: float = 0.8, ae_patients: int = 12) -> Iterator[Outgoing]:
        """A hospital mid-morning: most beds taken, A&E busy, some waits already long."""
        now = self.clock()
        for ward in self.ward_codes:
            for bed in self.beds[ward]:
                if self.rng.random() < ward_fraction:
                    since = now - timedelta(hours=self.rng.uniform(1, 24 * 12))
                    yield self._admit(ward, bed, since)
        for ae in self.ae_codes:
            for _ in range(ae_patients):
                yield self._arrive(ae, now - timedelta(minutes=self.rng.uniform(5, 330)))

    def step(self) -> Outgoing | None:
        """One next event, chosen with weights that keep the hospital roughly in balance."""
        cleaned = self.bed_cleaned()
        if cleaned is not None:
            return cleaned
        choices: list[tuple[float, Callable[[], Outgoing | None]]] = [
            (3.0, self._random_arrival),
            (2.0, self._admit_from_ae),
            (1.2, self._discharge_from_ae),
            (2.2, self._discharge_inpatient),
            (0.8, self._transfer),
            (0.6, self._direct_admission),
            (0.8, self._update_details),
            (0.1, self._cancel_admission),
        ]
        total = sum(w for w, _ in choices)
        for _ in range(10):
            pick = self.rng.uniform(0, total)
            for weight, action in choices:
                pick -= weight
                if pick <= 0:
                    out = action()
                    if out is not None:
                        return out
                    break
        return None

    def act(self, kind: str) -> Outgoing | None:
        """One event of a named kind (one of ``ACTIONS``), or None when the hospital's state
        does not allow it now (no free bed, nobody waiting): for a driver that schedules its
        own mix of events, as bench/hospital_day.py does."""
        actions: dict[str, Callable[[], Outgoing | None]] = {
            "arrival": self._random_arrival,
            "admit_from_ae": self._admit_from_ae,
            "discharge_from_ae": self._discharge_from_ae,
            "discharge_inpatient": self._discharge_inpatient,
            "transfer": self._transfer,
            "direct_admission": self._direct_admission,
            "update_details": self._update_details,
            "cancel_admission": self._cancel_admission,
        }
        return actions[kind]()

    def bed_cleaned(self) -> Outgoing | None:
        """The first bed whose cleaning is done, as an A20 making it available; else None."""
        now = self.clock()
        ready = [bed for bed, at in self.cleaning.items() if at <= now]
        return self._cleaned(ready[0]) if ready else None

    # --- the actions -----------------------------------------------------------------

    def _random_arrival(self) -> Outgoing | None:
        if not self.ae_codes:
            return None
        ae = self.rng.choice(self.ae_codes)
        if sum(1 for o in self.people.values() if o.ward == ae) >= 2 * len(self.beds[ae]):
            return None
        return self._arrive(ae, self.clock())

    def _arrive(self, ae: str, at: datetime) -> Outgoing:
        patient = self.factory.make(min_age=1, max_age=95)
        bed = self._free_bed(ae)
        occ = Occupant(patient, self._visit(), "E", ae, bed, self.rng.choice(self.doctors[ae]), at)
        return self._enter(occ, "A04", f"A&E arrival {patient.family_name} at {ae}")

    def _admit(self, ward: str, bed: Bed | None, since: datetime) -> Outgoing:
        patient = self.factory.make()
        occ = Occupant(
            patient, self._visit(), "I", ward, bed, self.rng.choice(self.doctors[ward]), since
        )
        return self._enter(occ, "A01", f"admission {patient.family_name} to {ward}")

    def _admit_from_ae(self) -> Outgoing | None:
        waiting = sorted(
            (o for o in self.people.values() if o.patient_class == "E"),
            key=lambda o: o.admitted_at,
        )
        if not waiting:
            return None
        ward = self.rng.choice(self.ward_codes)
        bed = self._free_bed(ward)
        if bed is None:
            return None
        attendance = waiting[0]
        self._leave(attendance)
        occ = Occupant(
            attendance.patient,
            self._visit(),
            "I",
            ward,
            bed,
            self.rng.choice(self.doctors[ward]),
            self.clock(),
            from_ae=True,
        )
        return self._enter(occ, "A01", f"admitted from A&E {occ.patient.family_name} to {ward}")

    def _direct_admission(self) -> Outgoing | None:
        ward = self.rng.choice(self.ward_codes)
        bed = self._free_bed(ward)
        if bed is None:
            return None
        return self._admit(ward, bed, self.clock())

    def _discharge_from_ae(self) -> Outgoing | None:
        candidates = [o for o in self.people.values() if o.patient_class == "E"]
        if not candidates:
            return None
        return self._discharge(self.rng.choice(candidates))

    def _discharge_inpatient(self) -> Outgoing | None:
        candidates = [o for o in self.people.values() if o.patient_class == "I"]
        if len(candidates) < 0.5 * sum(len(self.beds[w]) for w in self.ward_codes):
            return None
        return self._discharge(self.rng.choice(candidates))

    def _discharge(self, occ: Occupant) -> Outgoing:
        now = self.clock()
        self._leave(occ)
        cid, payload = self.writer.adt(
            "A03",
            now,
            occ.patient,
            patient_class=occ.patient_class,
            location=occ.location or (occ.ward, "", ""),
            visit_number=occ.visit_number,
            doctor=occ.doctor,
            admitted_at=occ.admitted_at,
            discharged_at=now,
        )
        return Outgoing(cid, payload, f"discharge {occ.patient.family_name} from {occ.ward}")

    def _transfer(self) -> Outgoing | None:
        inpatients = [o for o in self.people.values() if o.patient_class == "I"]
        if not inpatients:
            return None
        occ = self.rng.choice(inpatients)
        ward = self.rng.choice([w for w in self.ward_codes if w != occ.ward] or self.ward_codes)
        bed = self._free_bed(ward)
        if bed is None:
            return None
        prior = occ.location
        self._release(occ)
        occ.ward, occ.location = ward, bed
        occ.doctor = self.rng.choice(self.doctors[ward])
        self.occupied[bed] = occ.visit_number
        cid, payload = self.writer.adt(
            "A02",
            self.clock(),
            occ.patient,
            patient_class="I",
            location=bed,
            visit_number=occ.visit_number,
            doctor=occ.doctor,
            admitted_at=occ.admitted_at,
            prior_location=prior,
        )
        return Outgoing(cid, payload, f"transfer {occ.patient.family_name} to {ward}")

    def _update_details(self) -> Outgoing | None:
        if not self.people:
            return None
        occ = self.rng.choice(list(self.people.values()))
        occ.doctor = self.rng.choice(self.doctors[occ.ward])
        cid, payload = self.writer.adt(
            "A08",
            self.clock(),
            occ.patient,
            patient_class=occ.patient_class,
            location=occ.location or (occ.ward, "", ""),
            visit_number=occ.visit_number,
            doctor=occ.doctor,
            admitted_at=occ.admitted_at,
        )
        return Outgoing(cid, payload, f"details updated {occ.patient.family_name}")

    def _cancel_admission(self) -> Outgoing | None:
        recent = [
            o
            for o in self.people.values()
            if o.patient_class == "I"
            and not o.from_ae
            and self.clock() - o.admitted_at < timedelta(minutes=5)
        ]
        if not recent:
            return None
        occ = recent[-1]
        self._leave(occ)
        if occ.location is not None:
            self.cleaning.pop(occ.location, None)  # never slept in: free at once
        cid, payload = self.writer.adt(
            "A11",
            self.clock(),
            occ.patient,
            patient_class="I",
            location=occ.location or (occ.ward, "", ""),
            visit_number=occ.visit_number,
            doctor=occ.doctor,
            admitted_at=occ.admitted_at,
        )
        return Outgoing(cid, payload, f"admission cancelled {occ.patient.family_name}")

    def _cleaned(self, bed: Bed) -> Outgoing:
        del self.cleaning[bed]
        cid, payload = self.writer.bed_status(self.clock(), bed, "U")
        return Outgoing(cid, payload, f"bed {bed[0]}/{bed[2]} cleaned")

    # --- bookkeeping -----------------------------------------------------------------

    def _enter(self, occ: Occupant, trigger: str, description: str) -> Outgoing:
        self.people[occ.visit_number] = occ
        if occ.location is not None:
            self.occupied[occ.location] = occ.visit_number
        cid, payload = self.writer.adt(
            trigger,
            self.clock(),
            occ.patient,
            patient_class=occ.patient_class,
            location=occ.location or (occ.ward, "", ""),
            visit_number=occ.visit_number,
            doctor=occ.doctor,
            admitted_at=occ.admitted_at,
        )
        return Outgoing(cid, payload, description)

    def _leave(self, occ: Occupant) -> None:
        self.people.pop(occ.visit_number, None)
        self._release(occ)

    def _release(self, occ: Occupant) -> None:
        if occ.location is not None and self.occupied.get(occ.location) == occ.visit_number:
            del self.occupied[occ.location]
            low, high = self.cleaning_seconds
            self.cleaning[occ.location] = self.clock() + timedelta(
                seconds=self.rng.uniform(low, high)
            )

    def _free_bed(self, ward: str) -> Bed | None:
        free = [b for b in self.beds[ward] if b not in self.occupied and b not in self.cleaning]
        return self.rng.choice(free) if free else None

    def _visit(self) -> str:
        self._visits += 1
        return f"V{self._visits:07d}"
