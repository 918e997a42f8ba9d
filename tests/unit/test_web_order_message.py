"""A clinician's web order and the ORM^O01 we send for it: the catalogue's codes mean what the
HL7 translator would read from them, and our ORM, read back by our own translator, is the same
order (test, kind, modality, priority, placer number, orderer, patient)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from integration.hl7.header import read_header
from integration.hl7.reader import MessageReader
from integration.outbound.builders import build_orm
from integration.translate.orders import order_kind, translate_order
from mpi.models import Patient, PatientIdentifier
from whiteboard.models.orders import Order
from whiteboard.order_catalogue import CATALOGUE, PRIORITIES, PRIORITY_CODES


@pytest.mark.parametrize("orderable", CATALOGUE, ids=lambda o: o.code)
def test_catalogue_kind_is_what_the_translator_reads_from_the_code(orderable):
    assert order_kind("", orderable.code) == (orderable.kind, orderable.modality)


@pytest.mark.parametrize("priority", PRIORITIES)
@pytest.mark.parametrize("orderable", [CATALOGUE[0], CATALOGUE[-1]], ids=lambda o: o.code)
def test_our_orm_reads_back_as_the_same_order(orderable, priority):
    patient = Patient(
        family_name="O'NEIL|X",  # a separator in the record must not add a field
        given_names="Ann",
        nhs_number="9990000018",
        date_of_birth=date(1950, 1, 2),
        sex="F",
        identifiers=[PatientIdentifier(value="RM1", authority="WGH", id_type="MR")],
    )
    order = Order(
        placer_order_number="WB0123456789AB",
        service_code=orderable.code,
        service_text=orderable.text,
        kind=orderable.kind,
        modality=orderable.modality,
        priority=priority,
        ordered_by="C1234567",
        ordered_at=datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
    )
    raw = build_orm(order, patient, "WBO1", datetime(2026, 11, 22, 9, 30, tzinfo=UTC), "AMU")
    text = raw.decode()
    assert text.split("\r")[0].split("|")[8] == "ORM^O01^ORM_O01"
    assert f"^^^^^{PRIORITY_CODES[priority]}" in text
    msg = MessageReader(text)
    cmd = translate_order(
        msg, read_header(raw), ZoneInfo("Europe/London"), order.ordered_at, "hl7:1"
    )
    assert cmd.control == "NW"
    d = cmd.order
    assert (d.placer_order_number, d.service_code, d.service_text) == (
        order.placer_order_number,
        orderable.code,
        orderable.text,
    )
    assert (d.kind, d.modality, d.priority, d.ordered_by) == (
        orderable.kind,
        orderable.modality,
        priority,
        "C1234567",
    )
    assert cmd.patient.family_name == "O'NEIL|X"
    assert (cmd.patient.identifiers[0].value, cmd.patient.identifiers[0].authority) == (
        "RM1",
        "WGH",
    )
