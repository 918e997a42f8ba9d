from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from integration.hl7.header import read_header
from integration.hl7.reader import MessageReader
from integration.routing import Unroutable, route
from integration.translate.adt import TranslationError
from tests.hl7_builder import adt
from whiteboard import commands as cmds

LONDON = ZoneInfo("Europe/London")
RECEIVED = datetime(2026, 11, 22, 9, 16, tzinfo=UTC)


def translate(raw: bytes) -> cmds.Command:
    header = read_header(raw)
    return route(header)(MessageReader(raw.decode("utf-8")), header, LONDON, RECEIVED, "test")


def test_admission():
    cmd = translate(adt("A01", family="O'BRIEN", given="Siân Mary"))
    assert isinstance(cmd, cmds.AdmitPatient)
    p = cmd.patient
    assert p.identifiers == (cmds.Identifier("RM3000001", "WGH", "MR"),)
    assert p.nhs_number == "9990000018"
    assert (p.family_name, p.given_names) == ("O'BRIEN", "Siân Mary")
    assert p.date_of_birth == date(1958, 3, 12)
    assert p.postcode == "M33 7XX"
    v = cmd.visit
    assert v.location == cmds.Location("AMU", "A", "A1")
    assert v.clinician == cmds.ClinicianRef("C1234567", "OKAFOR", "Adaeze", "Dr")
    assert v.visit_number == "V0001"
    assert v.admitted_at == datetime(2026, 11, 22, 9, 15, tzinfo=UTC)
    assert cmd.occurred_at == datetime(2026, 11, 22, 9, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("trigger", "command"),
    [
        ("A01", cmds.AdmitPatient),
        ("A02", cmds.TransferPatient),
        ("A03", cmds.DischargePatient),
        ("A04", cmds.RegisterPatient),
        ("A08", cmds.UpdatePatientInformation),
        ("A11", cmds.CancelAdmission),
        ("A12", cmds.CancelTransfer),
        ("A13", cmds.CancelDischarge),
    ],
)
def test_each_trigger_becomes_its_command(trigger, command):
    assert isinstance(translate(adt(trigger)), command)


def test_escaped_characters_are_unescaped():
    cmd = translate(adt(family="SMITH\\T\\JONES"))
    assert cmd.patient.family_name == "SMITH&JONES"


def test_bed_status_update():
    raw = (
        b"MSH|^~\\&|PAS|WGH|WB|WGH|20261122||ADT^A20|B1|P|2.5.1\r"
        b"EVN|A20|20261122100000\rNPU|AMU^A^A2|U\r"
    )
    cmd = translate(raw)
    assert cmd == cmds.SetBedStatus(
        datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
        cmds.Location("AMU", "A", "A2"),
        "U",
        source="test",
    )


def test_missing_identifier_is_a_translation_error_with_location():
    raw = adt(hospital_number="", nhs_number=None).replace(b"^^^WGH^MR", b"")
    with pytest.raises(TranslationError) as err:
        translate(raw)
    assert err.value.location == "PID^1^3"


def test_bad_birth_date():
    with pytest.raises(TranslationError) as err:
        translate(adt(dob="19581312"))
    assert err.value.code == "102"


def test_unsupported_types_and_triggers():
    with pytest.raises(Unroutable) as err:
        translate(adt().replace(b"ADT^A01^ADT_A01", b"SIU^S12^SIU_S12"))
    assert err.value.code == "200"
    with pytest.raises(Unroutable) as err:
        translate(adt().replace(b"ADT^A01^ADT_A01", b"ADT^A99"))
    assert err.value.code == "201"
