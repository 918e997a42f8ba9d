"""Ward layout files: wards, bays and beds (and the demo's consultants and GP practices).

The layout is configuration, not data entry: a TOML file in config/layouts/ applied at start.
Applying is idempotent and never deletes a bed a patient may be in; beds missing from the file
are closed (HL7 0116 "C") instead.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.db import utcnow
from whiteboard.models import Bay, Bed, Clinician, Ward


@dataclass(frozen=True)
class BaySpec:
    code: str
    name: str
    beds: tuple[str, ...]


@dataclass(frozen=True)
class WardSpec:
    code: str
    name: str
    kind: str
    specialty: str
    bays: tuple[BaySpec, ...]


@dataclass(frozen=True)
class ConsultantSpec:
    code: str
    family_name: str
    given_names: str
    home_ward: str
    email: str


@dataclass(frozen=True)
class PracticeSpec:
    ods_code: str
    name: str


@dataclass(frozen=True)
class Layout:
    name: str
    wards: tuple[WardSpec, ...]
    consultants: tuple[ConsultantSpec, ...]
    gp_practices: tuple[PracticeSpec, ...]


class LayoutError(ValueError):
    pass


def load_layout(path: str | Path) -> Layout:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LayoutError(f"layout file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"layout file {path}: {exc}") from None
    try:
        wards = tuple(
            WardSpec(
                code=w["code"],
                name=w["name"],
                kind=w.get("kind", "ward"),
                specialty=w.get("specialty", ""),
                bays=tuple(
                    BaySpec(b["code"], b.get("name", b["code"]), tuple(b.get("beds", ())))
                    for b in w.get("bays", ())
                ),
            )
            for w in data.get("ward", ())
        )
        consultants = tuple(ConsultantSpec(**c) for c in data.get("consultant", ()))
        practices = tuple(PracticeSpec(**p) for p in data.get("gp_practice", ()))
    except (KeyError, TypeError) as exc:
        raise LayoutError(f"layout file {path}: missing or unexpected key {exc}") from None
    codes = [w.code for w in wards]
    if len(codes) != len(set(codes)):
        raise LayoutError(f"layout file {path}: a ward code appears twice")
    for ward in wards:
        beds = [bed for bay in ward.bays for bed in bay.beds]
        if len(beds) != len(set(beds)):
            raise LayoutError(f"layout file {path}: ward {ward.code} has a bed code twice")
    return Layout(data.get("name", ""), wards, consultants, practices)


def apply_layout(session: Session, layout: Layout) -> None:
    now = utcnow()
    existing = {w.code: w for w in session.scalars(select(Ward))}
    for position, spec in enumerate(layout.wards):
        ward = existing.get(spec.code)
        if ward is None:
            ward = Ward(code=spec.code, name=spec.name)
            session.add(ward)
            session.flush()
        ward.name, ward.kind, ward.specialty, ward.position = (
            spec.name,
            spec.kind,
            spec.specialty,
            position,
        )
        _apply_bays(session, ward, spec, now)
    for spec in layout.consultants:
        clinician = session.scalars(select(Clinician).where(Clinician.code == spec.code)).first()
        if clinician is None:
            clinician = Clinician(code=spec.code)
            session.add(clinician)
        clinician.family_name = spec.family_name
        clinician.given_names = spec.given_names
        clinician.prefix = "Dr"
        clinician.grade = "consultant"
        clinician.email = spec.email


def _apply_bays(session: Session, ward: Ward, spec: WardSpec, now: object) -> None:
    bays = {b.code: b for b in session.scalars(select(Bay).where(Bay.ward_id == ward.id))}
    beds = {b.code: b for b in session.scalars(select(Bed).where(Bed.ward_id == ward.id))}
    wanted: set[str] = set()
    position = 0
    for bay_pos, bay_spec in enumerate(spec.bays):
        bay = bays.get(bay_spec.code)
        if bay is None:
            bay = Bay(ward_id=ward.id, code=bay_spec.code, name=bay_spec.name)
            session.add(bay)
            session.flush()
        bay.name, bay.position = bay_spec.name, bay_pos
        for code in bay_spec.beds:
            wanted.add(code)
            bed = beds.get(code)
            if bed is None:
                bed = Bed(ward_id=ward.id, code=code, label=code, status="U")
                session.add(bed)
            elif bed.status == "C":
                bed.status = "U"
            bed.bay_id, bed.position = bay.id, position
            position += 1
    for code, bed in beds.items():
        if code not in wanted and bed.status == "U":
            bed.status = "C"
