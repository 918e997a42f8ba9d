"""Writing the simulator's ADT messages as HL7 v2.5.1 text."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from integration.hl7.datatypes import format_dtm
from integration.hl7.escape import escape
from integration.simulator.people import SimPatient


@dataclass(frozen=True)
class Doctor:
    code: str
    family_name: str
    given_name: str


class MessageWriter:
    def __init__(self, tz: ZoneInfo, sending_app: str = "PAS", facility: str = "WGH") -> None:
        self.tz = tz
        self.sending_app = sending_app
        self.facility = facility
        self._ids = itertools.count(1)
        self._prefix = f"SIM{datetime.now().strftime('%y%m%d%H%M%S')}"

    def next_control_id(self) -> str:
        return f"{self._prefix}{next(self._ids):07d}"

    def adt(
        self,
        trigger: str,
        at: datetime,
        patient: SimPatient,
        *,
        patient_class: str,
        location: tuple[str, str, str] | None,
        visit_number: str,
        doctor: Doctor | None,
        admitted_at: datetime | None = None,
        discharged_at: datetime | None = None,
        prior_location: tuple[str, str, str] | None = None,
    ) -> tuple[str, bytes]:
        control_id = self.next_control_id()
        when = format_dtm(at, self.tz)
        e = escape
        street, _, town = patient.address.partition(", ")
        pv1 = [""] * 46
        pv1[0] = "PV1"
        pv1[1] = "1"
        pv1[2] = patient_class
        pv1[3] = "^".join(e(p) for p in location) if location else ""
        pv1[6] = "^".join(e(p) for p in prior_location) if prior_location else ""
        if doctor:
            pv1[7] = f"{doctor.code}^{e(doctor.family_name)}^{e(doctor.given_name)}^^^Dr"
        pv1[19] = visit_number
        pv1[44] = format_dtm(admitted_at, self.tz) if admitted_at else ""
        pv1[45] = format_dtm(discharged_at, self.tz) if discharged_at else ""
        segments = [
            f"MSH|^~\\&|{self.sending_app}|{self.facility}|WARDBOARD|{self.facility}|{when}||"
            f"ADT^{trigger}^ADT_A01|{control_id}|P|2.5.1|||AL|NE||UNICODE UTF-8",
            f"EVN|{trigger}|{when}||||{when}",
            f"PID|1||{patient.hospital_number}^^^{self.facility}^MR~{patient.nhs_number}^^^NHS^NH||"
            f"{e(patient.family_name)}^{e(patient.given_name)}||"
            f"{patient.date_of_birth:%Y%m%d}|{patient.sex}|||"
            f"{e(street)}^^{e(town)}^^{patient.postcode}",
            f"PD1|||^^{patient.gp_practice}",
            "|".join(pv1).rstrip("|"),
        ]
        return control_id, ("\r".join(segments) + "\r").encode("utf-8")

    def bed_status(
        self, at: datetime, location: tuple[str, str, str], status: str
    ) -> tuple[str, bytes]:
        control_id = self.next_control_id()
        when = format_dtm(at, self.tz)
        segments = [
            f"MSH|^~\\&|{self.sending_app}|{self.facility}|WARDBOARD|{self.facility}|{when}||"
            f"ADT^A20^ADT_A20|{control_id}|P|2.5.1|||AL|NE||UNICODE UTF-8",
            f"EVN|A20|{when}",
            f"NPU|{'^'.join(location)}|{status}",
        ]
        return control_id, ("\r".join(segments) + "\r").encode("utf-8")
