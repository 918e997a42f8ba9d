"""A hand-built hospital for report and email tests, around the night the clocks go back.

Clocks go back at 01:00 UTC on Sunday 25 October 2026: that local day has 25 hours, from
2026-10-24T23:00Z (00:00 BST) to 2026-10-26T00:00Z (00:00 GMT). Every expected figure in the
tests is worked out by hand in the comments here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from config.clinical import ClinicalRules
from mpi.models import Patient
from whiteboard.alerts.facts import ObservationSet
from whiteboard.alerts.news2 import score_news2
from whiteboard.board.snapshot import age_on
from whiteboard.models import (
    Bed,
    BedOccupancy,
    Clinician,
    Observation,
    Stay,
    StayPlan,
    VteAssessment,
    Ward,
)

SENT_ON = date(2026, 10, 26)  # the Monday 07:00 email is about Sunday 25 October (25 h)
NOW = datetime(2026, 10, 26, 12, 0, tzinfo=UTC)  # "now" for the managers' reports


def z(text_: str) -> datetime:
    return datetime.fromisoformat(text_).replace(tzinfo=UTC)


def build_hospital(session: Session, *, with_vte_table: bool) -> dict[str, int]:
    """Returns the stay ids by label. Needs the test layout (AE, AMU, W4; Dr Okafor)."""
    wards = {w.code: w for w in session.scalars(select(Ward))}
    beds = {(b.ward.code, b.code): b for b in session.scalars(select(Bed))}
    okafor = session.scalars(select(Clinician).where(Clinician.code == "C1234567")).one()
    brown = Clinician(
        code="C7000001", family_name="Brown", given_names="Beatrice", email="b.brown@test.example"
    )
    chen = Clinician(
        code="C7000002", family_name="Chen", given_names="Wei", email="w.chen@test.example"
    )
    no_mail = Clinician(code="C7000003", family_name="Quiet", given_names="Quentin")
    session.add_all([brown, chen, no_mail])
    session.flush()
    people: dict[str, Patient] = {}

    def patient(label: str, born: date) -> Patient:
        p = Patient(family_name=f"Test{label}", given_names=f"Pat {label}", date_of_birth=born)
        session.add(p)
        people[label] = p
        return p

    ids: dict[str, int] = {}

    def stay(
        label, cls, ward, doctor, admitted, discharged=None, state=None, born=date(1956, 1, 1)
    ):
        s = Stay(
            patient=patient(label, born),
            patient_class=cls,
            state=state or ("discharged" if discharged else "active"),
            ward=wards[ward],
            clinician=doctor,
            admitted_at=z(admitted),
            discharged_at=z(discharged) if discharged else None,
        )
        session.add(s)
        session.flush()
        ids[label] = s.id
        return s

    # --- inpatients admitted on Sunday 25 October (local), for the email -----------------
    stay("P1", "I", "AMU", okafor, "2026-10-24T23:30")  # 00:30 BST on the 25th: counts
    stay("P2", "I", "W4", okafor, "2026-10-25T23:30", born=date(1986, 5, 5))  # 23:30 GMT: counts
    stay("P3", "I", "AMU", okafor, "2026-10-26T00:30")  # 00:30 on the 26th: not yesterday
    stay("P4", "I", "AMU", okafor, "2026-10-25T10:00", born=date(2014, 3, 3))  # aged 12
    stay("P8", "I", "AMU", okafor, "2026-10-25T09:00", born=date(1946, 2, 2))
    stay("P5", "I", "AMU", brown, "2026-10-25T08:00", born=date(1976, 7, 7))
    stay("CANCELLED", "I", "AMU", okafor, "2026-10-25T12:00", state="cancelled")
    # --- long stays -----------------------------------------------------------------------
    stay("P6", "I", "AMU", okafor, "2026-10-10T09:00")  # 15 days at 07:00 on the 26th
    stay("P7", "I", "W4", brown, "2026-10-01T09:00")  # 24 days at 07:00 on the 26th
    # --- discharged stays, for length of stay, noon and occupancy ---------------------------
    # Crosses local midnight twice (00:00 BST 25th, 00:00 GMT 26th); 27 h long.
    stay("TWICE", "I", "AMU", okafor, "2026-10-24T22:00", "2026-10-26T01:00")
    # A 6-hour stay (Brown's, admitted yesterday): 0.25 bed-days.
    stay("SHORT", "I", "W4", brown, "2026-10-25T10:00", "2026-10-25T16:00")
    stay("NOON", "I", "AMU", okafor, "2026-10-01T10:00", "2026-10-24T11:30")  # 12:30 BST
    stay("BST", "I", "AMU", okafor, "2026-10-16T10:00", "2026-10-24T10:30")  # 11:30 BST
    # --- A&E attendances ---------------------------------------------------------------------
    stay("A1", "E", "AE", okafor, "2026-10-25T10:00", "2026-10-25T14:00")  # exactly 240 min
    stay("A2", "E", "AE", brown, "2026-10-25T11:00", "2026-10-25T15:00:01")  # 240 min 1 s
    stay("A3", "E", "AE", okafor, "2026-10-24T23:30", "2026-10-25T12:30", state="ended")  # 13 h
    stay("A4", "E", "AE", None, "2026-10-26T09:00")  # still there at NOW (3 h)
    # --- bed occupancy intervals ------------------------------------------------------------
    session.add_all(
        [
            BedOccupancy(
                stay_id=ids["TWICE"],
                ward_id=wards["AMU"].id,
                bed_id=beds[("AMU", "A1")].id,
                clinician_id=okafor.id,
                started_at=z("2026-10-24T22:00"),
                ended_at=z("2026-10-26T01:00"),
            ),
            BedOccupancy(
                stay_id=ids["SHORT"],
                ward_id=wards["W4"].id,
                bed_id=beds[("W4", "A1")].id,
                clinician_id=brown.id,
                started_at=z("2026-10-25T10:00"),
                ended_at=z("2026-10-25T16:00"),
            ),
        ]
    )
    # --- estimated discharge dates: "today" for the email is Monday 26 October ----------------
    session.add_all(
        [
            StayPlan(stay_id=ids["P6"], edd=SENT_ON, edd_time=time(11, 0)),  # listed, 11:00
            StayPlan(stay_id=ids["P1"], edd=SENT_ON),  # listed last: no time given
            StayPlan(stay_id=ids["P2"], edd=date(2026, 10, 27)),  # tomorrow: not listed
            StayPlan(stay_id=ids["P7"], edd=SENT_ON, edd_time=time(9, 30)),  # Brown's
            StayPlan(stay_id=ids["TWICE"], edd=SENT_ON),  # already discharged: not listed
            # Decisions to admit in A&E (the trolley-wait clock): A3 waited exactly 720 min
            # from decision to admission (00:30Z -> 12:30Z: complies, "more than" 12 h
            # breaches) though 13 h from arrival; A4's clock started at 09:30Z on the 26th.
            StayPlan(stay_id=ids["A3"], decision_to_admit_at=z("2026-10-25T00:30")),
            StayPlan(stay_id=ids["A4"], decision_to_admit_at=z("2026-10-26T09:30")),
        ]
    )
    session.flush()
    add_observations(session, ids)
    if with_vte_table:
        for label, when in (
            ("P1", "2026-10-25T13:30:00"),  # exactly 14 h after 23:30Z: in time
            ("P8", "2026-10-25T23:00:01"),  # 14 h and 1 s after 09:00Z: late
        ):
            session.add(
                VteAssessment(stay_id=ids[label], assessed_at=z(when), assessed_by="C0000001")
            )
            # Kept on the plan as the handler keeps it (the boards read it there).
            _plan(session, ids[label]).vte_assessed_at = z(when)
        session.flush()
    return ids


def _plan(session: Session, stay_id: int) -> StayPlan:
    plan = session.get(StayPlan, stay_id)
    if plan is None:
        plan = StayPlan(stay_id=stay_id)
        session.add(plan)
    return plan


def drop_vte_table(session: Session) -> None:
    session.execute(delete(VteAssessment))
    session.execute(update(StayPlan).values(vte_assessed_at=None))


# NEWS2 sets with known scores (adults): total 0 -> next due in 12 h; 1 -> 4 h; 5 -> 1 h;
# 7 -> continuous monitoring (no due time).
ZERO = dict(respiration_rate=16, spo2=97, on_oxygen=False, systolic_bp=120, pulse=70,
            consciousness="A", temperature=37.0)  # fmt: skip
ONE = {**ZERO, "pulse": 95}
FIVE = {**ZERO, "respiration_rate": 22, "pulse": 115, "temperature": 38.5}
SEVEN = {**ZERO, "respiration_rate": 26, "pulse": 115, "spo2": 93}


def add_observations(session: Session, ids: dict[str, int]) -> None:
    """Observation sets around the night the clocks go back (01:00Z on 25 October).

    Due times (the set before + its interval), the local day they fall on, and the outcome:
    P6 (AMU, no bed interval: the stay's ward; aged 70)
      z 24th 10:00Z score 0 -> due 22:00Z 24th (23:00 BST, the 24th); a at 20:00Z: on time
      a 24th 20:00Z score 1 -> due 00:00Z 25th (01:00 BST, the 25th); b at 00:00Z: on time
      b 25th 00:00Z score 1 -> due 04:00Z (04:00 GMT: three wall-clock hours after 01:00 BST
        but four real ones); c at 04:30Z: LATE (a wall-clock sum would call it on time)
      c 25th 04:30Z score 5 -> due 05:30Z; d at 05:30Z: on time
      d 25th 05:30Z score 7 -> continuous (the 25th): no due time
      e 25th 06:00Z score 0 -> due 18:00Z 25th; f at 17:00Z: on time
      f 25th 17:00Z score 0 -> due 05:00Z 26th: none since, still in at NOW: NOT TAKEN (26th)
    TWICE (AMU bed interval 22:00Z 24th -> 01:00Z 26th)
      t1 24th 22:00Z score 5 -> due 23:00Z 24th = 00:00 BST on the 25th; t2 at 23:10Z: LATE
      t2 24th 23:10Z score 0 -> due 11:10Z 25th; t3 at 11:00Z: on time
      t3 25th 11:00Z score 0 -> due 23:00Z 25th (still in until 01:00Z): NOT TAKEN (25th)
    P4 (AMU, aged 12: NEWS2 does not apply, so the 4-hour local interval)
      c1 25th 12:00Z -> due 16:00Z 25th: none since: NOT TAKEN (25th)
    SHORT (W4, 10:00Z-16:00Z 25th): s1 10:30Z score 0 -> due 22:30Z, after discharge: left out
    P7 (W4, no interval)
      p1 25th 20:00Z score 1 -> due 00:00Z 26th (the 26th); p2 at 00:00Z: on time
      p2 26th 00:00Z score 0 -> due 12:00Z 26th = NOW exactly: not yet due
    """
    sets = [
        ("P6", "2026-10-24T10:00", ZERO),
        ("P6", "2026-10-24T20:00", ONE),
        ("P6", "2026-10-25T00:00", ONE),
        ("P6", "2026-10-25T04:30", FIVE),
        ("P6", "2026-10-25T05:30", SEVEN),
        ("P6", "2026-10-25T06:00", ZERO),
        ("P6", "2026-10-25T17:00", ZERO),
        ("TWICE", "2026-10-24T22:00", FIVE),
        ("TWICE", "2026-10-24T23:10", ZERO),
        ("TWICE", "2026-10-25T11:00", ZERO),
        ("P4", "2026-10-25T12:00", ZERO),
        ("SHORT", "2026-10-25T10:30", ZERO),
        ("P7", "2026-10-25T20:00", ONE),
        ("P7", "2026-10-26T00:00", ZERO),
    ]
    rules = ClinicalRules()
    latest: dict[str, Observation] = {}
    for label, when, values in sets:
        # The score the rule gives when the set is recorded, stored as the handler does.
        stay = session.get(Stay, ids[label])
        age = age_on(stay.patient.date_of_birth, z(when).date())
        score = score_news2(ObservationSet(taken_at=z(when), **values), rules, age_years=age)
        row = Observation(
            stay_id=ids[label],
            taken_at=z(when),
            recorded_by="N0000001",
            news2_total=score.total,
            news2_band=score.band,
            **values,
        )
        session.add(row)
        latest[label] = row  # the sets are listed in time order per stay
    session.flush()
    # The plan points at each stay's latest set, as the handler keeps it.
    for label, row in latest.items():
        _plan(session, ids[label]).latest_observation_id = row.id
    session.flush()
