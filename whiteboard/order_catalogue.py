"""The tests a clinician can order from the patient page: code, name, kind, modality.

The codes are OBR-4 service codes, so a web order is routed exactly as an HL7 one: the
destinations file's ``order_routes`` send it by code prefix (``XR`` to radiology, the rest to
the default, the lab), and the kind and modality are what ``integration.translate.orders.
order_kind`` would read from the same code (a unit test keeps the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Orderable:
    code: str  # OBR-4.1
    text: str  # OBR-4.2
    kind: str  # lab or imaging
    modality: str | None = None  # imaging: XR, CT, MR, US


CATALOGUE: tuple[Orderable, ...] = (
    Orderable("FBC", "Full blood count", "lab"),
    Orderable("UE", "Urea and electrolytes", "lab"),
    Orderable("LFT", "Liver function tests", "lab"),
    Orderable("CRP", "C-reactive protein", "lab"),
    Orderable("COAG", "Clotting screen", "lab"),
    Orderable("TROP", "Troponin", "lab"),
    Orderable("BCUL", "Blood cultures", "lab"),
    Orderable("XRCHE", "Chest X-ray", "imaging", "XR"),
    Orderable("XRABD", "Abdominal X-ray", "imaging", "XR"),
    Orderable("XRPEL", "Pelvis X-ray", "imaging", "XR"),
)
BY_CODE = {o.code: o for o in CATALOGUE}
PRIORITIES = ("routine", "urgent", "critical")  # as HL7 table 0027 R, A, S map here
# HL7 table 0027 code for each priority, for the ORC-7.6 / TQ1-9 of the message we send.
PRIORITY_CODES = {"routine": "R", "urgent": "A", "critical": "S"}
