"""Outbound HL7 v2.5.1 messages, built with hl7apy (validated structure; not on any ACK path).

Built from the record as it is after the change committed, so a subscriber always receives
our current view of the patient.
"""

from __future__ import annotations

from datetime import datetime

from hl7apy.core import Message

from integration.hl7.ack import OUR_APPLICATION, OUR_FACILITY
from integration.hl7.escape import escape
from mpi.models import Patient, PatientIdentifier
from whiteboard.models.orders import Order
from whiteboard.order_catalogue import PRIORITY_CODES


def _e(text: str | None) -> str:
    """Escape a value from the record so it can never add fields or components."""
    return escape(text or "", "|", "^~\\&")


def _msh(message: Message, trigger: str, structure: str, control_id: str, at: datetime) -> None:
    message.msh.msh_3 = OUR_APPLICATION
    message.msh.msh_4 = OUR_FACILITY
    message.msh.msh_7 = at.strftime("%Y%m%d%H%M%S")
    message.msh.msh_9 = f"ADT^{trigger}^{structure}"
    message.msh.msh_10 = control_id
    message.msh.msh_11 = "P"
    message.msh.msh_18 = "UNICODE UTF-8"


def _pid(segment: object, patient: Patient) -> None:
    """PID-3 every identifier (NHS number typed NH), PID-5, PID-7, PID-8, PID-11."""
    pid = segment
    idents = [_cx(i.value, i.authority, i.id_type) for i in patient.identifiers]
    if patient.nhs_number and not any(i.authority == "NHS" for i in patient.identifiers):
        idents.append(_cx(patient.nhs_number, "NHS", "NH"))
    for value in idents:
        pid.add_field("PID_3").value = value  # type: ignore[attr-defined]
    pid.pid_5 = f"{_e(patient.family_name)}^{_e(patient.given_names)}"  # type: ignore[attr-defined]
    if patient.date_of_birth:
        pid.pid_7 = patient.date_of_birth.strftime("%Y%m%d")  # type: ignore[attr-defined]
    if patient.sex:
        pid.pid_8 = patient.sex  # type: ignore[attr-defined]
    if patient.address or patient.postcode:
        address = f"{_e(patient.address)}^^^^{_e(patient.postcode)}"
        pid.pid_11 = address  # type: ignore[attr-defined]


def _cx(value: str, authority: str, id_type: str) -> str:
    return f"{_e(value)}^^^{_e(authority)}^{_e(id_type) or 'MR'}"


def build_a08(patient: Patient, control_id: str, at: datetime) -> bytes:
    """The A08 written field by field: the bytes ``build_a08_hl7apy`` makes (pinned by
    tests/unit/test_outbound_builders.py) in microseconds rather than milliseconds, since the
    nightly GP feed may announce thousands of patients in one chunk."""
    stamp = at.strftime("%Y%m%d%H%M%S")
    idents = [_cx(i.value, i.authority, i.id_type) for i in patient.identifiers]
    if patient.nhs_number and not any(i.authority == "NHS" for i in patient.identifiers):
        idents.append(_cx(patient.nhs_number, "NHS", "NH"))
    address = ""
    if patient.address or patient.postcode:
        address = _components(_e(patient.address), "", "", "", _e(patient.postcode))
    pid = _fields(
        "PID",
        "",
        "",
        "~".join(_components(*cx.split("^")) for cx in idents),
        "",
        _components(_e(patient.family_name), _e(patient.given_names)),
        "",
        patient.date_of_birth.strftime("%Y%m%d") if patient.date_of_birth else "",
        patient.sex or "",
        "",
        "",
        address,
    )
    msh = _fields(
        "MSH",
        "^~\\&",
        OUR_APPLICATION,
        OUR_FACILITY,
        "",
        "",
        stamp,
        "",
        "ADT^A08^ADT_A01",
        control_id,
        "P",
        "2.5.1",
        "",
        "",
        "",
        "",
        "",
        "UNICODE UTF-8",
    )
    segments = (msh, _fields("EVN", "", stamp), pid, _fields("PV1", "", "N"))
    return ("\r".join(segments) + "\r").encode("utf-8")


def _components(*values: str) -> str:
    """Components of one field, trailing empty ones left out (as hl7apy writes them)."""
    parts = list(values)
    while parts and not parts[-1]:
        parts.pop()
    return "^".join(parts)


def _fields(name: str, *values: str) -> str:
    """One segment, trailing empty fields left out (as hl7apy writes them)."""
    parts = list(values)
    while parts and not parts[-1]:
        parts.pop()
    return "|".join((name, *parts))


def build_a08_hl7apy(patient: Patient, control_id: str, at: datetime) -> bytes:
    """The A08 built with hl7apy's validated structure: the reference ``build_a08`` matches."""
    message = Message("ADT_A01", version="2.5.1")
    _msh(message, "A08", "ADT_A01", control_id, at)
    message.evn.evn_2 = at.strftime("%Y%m%d%H%M%S")
    _pid(message.pid, patient)
    message.pv1.pv1_2 = "N"  # not applicable: a demographic correction, not a visit
    return message.to_er7().encode("utf-8") + b"\r"


def build_a40(
    survivor: Patient,
    prior_identifier: PatientIdentifier | None,
    prior_nhs_number: str | None,
    control_id: str,
    at: datetime,
) -> bytes:
    """MRG-1 names the merged record by the identifier it was known by before the merge (the
    merge has moved that identifier to the survivor), or by its NHS number."""
    message = Message("ADT_A39", version="2.5.1")
    _msh(message, "A40", "ADT_A39", control_id, at)
    message.evn.evn_2 = at.strftime("%Y%m%d%H%M%S")
    group = message.add_group("ADT_A39_PATIENT")
    _pid(group.pid, survivor)
    if prior_identifier is not None:
        i = prior_identifier
        group.mrg.mrg_1 = _cx(i.value, i.authority, i.id_type)
    elif prior_nhs_number:
        group.mrg.mrg_1 = _cx(prior_nhs_number, "NHS", "NH")
    return message.to_er7().encode("utf-8") + b"\r"


def build_orm(
    order: Order,
    patient: Patient,
    control_id: str,
    at: datetime,
    ward: str | None = None,
) -> bytes:
    """ORM^O01 NW for an order placed here (a clinician on the patient page): what a GP's
    ORM would carry, with us as the placer. ORC-2/OBR-2 our placer number, ORC-7.6 and
    OBR-27.6 the priority (table 0027), ORC-12/OBR-16 the ordering clinician, OBR-4 the test,
    OBR-24 RAD for imaging; PV1-3 the ward the patient is on."""
    message = Message("ORM_O01", version="2.5.1")
    _msh(message, "O01", "ORM_O01", control_id, at)
    message.msh.msh_9 = "ORM^O01^ORM_O01"
    patient_group = message.add_group("ORM_O01_PATIENT")
    _pid(patient_group.pid, patient)
    visit = patient_group.add_group("ORM_O01_PATIENT_VISIT")
    visit.pv1.pv1_2 = "I" if ward else "U"
    if ward:
        visit.pv1.pv1_3 = _e(ward)
    group = message.add_group("ORM_O01_ORDER")
    priority = PRIORITY_CODES.get(order.priority, "R")
    orderer = _e(order.ordered_by)
    group.orc.orc_1 = "NW"
    group.orc.orc_2 = _e(order.placer_order_number)
    group.orc.orc_7 = f"^^^^^{priority}"
    group.orc.orc_9 = order.ordered_at.strftime("%Y%m%d%H%M%S")
    if orderer:
        group.orc.orc_12 = orderer
    detail = group.add_group("ORM_O01_ORDER_DETAIL")
    choice = detail.add_group("ORM_O01_OBRRQDRQ1RXOODSODT_SUPPGRP")
    obr = choice.obr
    obr.obr_1 = "1"
    obr.obr_2 = _e(order.placer_order_number)
    obr.obr_4 = f"{_e(order.service_code)}^{_e(order.service_text)}"
    if orderer:
        obr.obr_16 = orderer
    if order.kind == "imaging":
        obr.obr_24 = "RAD"
    obr.obr_27 = f"^^^^^{priority}"
    return message.to_er7().encode("utf-8") + b"\r"
