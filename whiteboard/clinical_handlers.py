"""Handlers for clinician actions: plain functions of (command, unit of work).

Each records who did it and emits ``ClinicalRecordChanged`` naming the stay's ward, so the
board re-pushes exactly as it does after an HL7 message.

EDD gating (seed hospital practice): a doctor may not make referrals or otherwise update the
board for an inpatient whose EDD is not current (set, not in the past, reviewed within
``edd.review_hours``); setting or reviewing the EDD itself is always allowed, and so is
recording observations (never block a safety measurement). The refusal names the rule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.clinical import ClinicalRules
from config.unit_of_work import UnitOfWork
from mpi.models import Patient
from whiteboard import clinical_commands as cc
from whiteboard import commands as cmds
from whiteboard import events
from whiteboard.alerts.clock import local_date
from whiteboard.alerts.edd import edd_is_current, edd_moment
from whiteboard.alerts.facts import ObservationSet
from whiteboard.alerts.news2 import score_news2
from whiteboard.board.clinical_facts import age_on, load_clinical_rows, stay_facts
from whiteboard.errors import EddNotCurrent, InvalidCommand, NoSuchStay, UnknownLocation
from whiteboard.models import (
    Clinician,
    Observation,
    OutpatientBooking,
    Referral,
    ResponsibleClinician,
    Stay,
    StayPlan,
    VteAssessment,
    Ward,
)
from whiteboard.models.clinical import join_codes

# Handlers need the clinical rules (gating, NEWS2 bands, referral timing); bootstrap binds them.
RulesHandler = Callable[[Any, UnitOfWork, ClinicalRules], Any]


def _stay(session: Session, stay_id: int) -> Stay:
    stay = session.get(Stay, stay_id)
    if stay is None or stay.state == "cancelled":
        raise NoSuchStay(f"no stay {stay_id}")
    return stay


def _plan(session: Session, stay: Stay) -> StayPlan:
    plan = session.get(StayPlan, stay.id)
    if plan is None:
        plan = StayPlan(stay_id=stay.id)
        session.add(plan)
    return plan


def _changed(uow: UnitOfWork, stay: Stay) -> None:
    uow.add_event(events.ClinicalRecordChanged(stay.id, stay.patient_id, stay.ward.code))


def require_current_edd(
    session: Session, stay: Stay, cmd: cc.ClinicalCommand, rules: ClinicalRules, action: str
) -> None:
    """Refuse a doctor's action on an inpatient whose EDD is not current, saying why."""
    if cmd.actor_role != "doctor" or stay.patient_class != "I":
        return
    rows = load_clinical_rows(session, [stay.id], responsible=False, orders=False)[stay.id]
    facts = stay_facts(stay.id, stay.admitted_at, None, rows)
    if edd_is_current(facts, cmd.occurred_at, rules):
        return
    if facts.edd is None:
        why = "the patient has no EDD"
    elif facts.edd < local_date(cmd.occurred_at, rules.tz):
        why = f"the EDD {facts.edd.isoformat()} is in the past"
    else:
        why = f"the EDD has not been reviewed in the last {rules.edd.review_hours} h"
    raise EddNotCurrent(f"{action} refused: {why}; set or review the EDD first")


def record_vte_assessment(
    cmd: cc.RecordVteAssessment, uow: UnitOfWork, rules: ClinicalRules
) -> int:
    s = uow.session
    stay = _stay(s, cmd.stay_id)
    require_current_edd(s, stay, cmd, rules, "recording a VTE assessment")
    row = VteAssessment(
        stay_id=stay.id,
        assessed_at=cmd.assessed_at or cmd.occurred_at,
        assessed_by=cmd.actor,
        outcome=cmd.outcome,
    )
    s.add(row)
    plan = _plan(s, stay)
    if plan.vte_assessed_at is None or row.assessed_at > plan.vte_assessed_at:
        plan.vte_assessed_at = row.assessed_at
    s.flush()
    _changed(uow, stay)
    return row.id


def record_observations(cmd: cc.RecordObservations, uow: UnitOfWork, rules: ClinicalRules) -> int:
    s = uow.session
    stay = _stay(s, cmd.stay_id)
    try:
        obs = ObservationSet(
            taken_at=cmd.taken_at or cmd.occurred_at,
            respiration_rate=cmd.respiration_rate,
            spo2=cmd.spo2,
            spo2_scale=cmd.spo2_scale,  # type: ignore[arg-type]
            on_oxygen=cmd.on_oxygen,
            systolic_bp=cmd.systolic_bp,
            pulse=cmd.pulse,
            consciousness=cmd.consciousness,  # type: ignore[arg-type]
            temperature=cmd.temperature,
        )
    except ValueError as exc:
        raise InvalidCommand(str(exc)) from exc
    patient = s.get(Patient, stay.patient_id)
    age = age_on(patient.date_of_birth if patient else None, local_date(obs.taken_at, rules.tz))
    score = score_news2(obs, rules, age_years=age)
    row = Observation(
        stay_id=stay.id,
        taken_at=obs.taken_at,
        respiration_rate=obs.respiration_rate,
        spo2=obs.spo2,
        spo2_scale=obs.spo2_scale,
        on_oxygen=obs.on_oxygen,
        systolic_bp=obs.systolic_bp,
        pulse=obs.pulse,
        consciousness=obs.consciousness,
        temperature=obs.temperature,
        news2_total=score.total,
        news2_band=score.band,
        recorded_by=cmd.actor,
    )
    s.add(row)
    s.flush()
    plan = _plan(s, stay)
    latest = s.get(Observation, plan.latest_observation_id) if plan.latest_observation_id else None
    if latest is None or row.taken_at >= latest.taken_at:
        plan.latest_observation_id = row.id
    s.flush()
    _changed(uow, stay)
    return row.id


def set_discharge_plan(cmd: cc.SetDischargePlan, uow: UnitOfWork, rules: ClinicalRules) -> int:
    s = uow.session
    stay = _stay(s, cmd.stay_id)
    if cmd.pathway is not None and cmd.pathway not in (0, 1, 2, 3):
        raise InvalidCommand(f"discharge pathway must be 0, 1, 2 or 3, got {cmd.pathway!r}")
    plan = _plan(s, stay)
    if cmd.edd is not None:
        plan.edd = cmd.edd
        plan.edd_time = cmd.edd_time
    if plan.edd is None:
        raise InvalidCommand("an EDD is needed to set or review the discharge plan")
    plan.edd_reviewed_at = cmd.occurred_at
    plan.edd_reviewed_by = cmd.actor
    if cmd.discharge_criteria is not None:
        plan.discharge_criteria = cmd.discharge_criteria
    if cmd.pathway is not None:
        plan.pathway = cmd.pathway
    if cmd.post_discharge_needs is not None:
        plan.post_discharge_needs = join_codes(list(cmd.post_discharge_needs))
    if cmd.next_review_at is not None:
        plan.next_review_at = cmd.next_review_at
    s.flush()
    _sync_referral_tasks(s, stay, plan, rules)
    _changed(uow, stay)
    return stay.id


def _sync_referral_tasks(
    session: Session, stay: Stay, plan: StayPlan, rules: ClinicalRules
) -> None:
    """One open community task per need, due ``due_hours_before_edd`` before the EDD."""
    from whiteboard.alerts.facts import StayFacts

    moment = edd_moment(
        StayFacts(admitted_at=stay.admitted_at, edd=plan.edd, edd_time=plan.edd_time), rules
    )
    due = None if moment is None else moment - timedelta(hours=rules.referral.due_hours_before_edd)
    existing = {
        r.need: r
        for r in session.scalars(
            select(Referral)
            .where(Referral.stay_id == stay.id)
            .where(Referral.cancelled_at.is_(None))
        )
    }
    for need in plan.needs:
        task = existing.pop(need, None)
        if task is None:
            session.add(Referral(stay_id=stay.id, need=need, due_at=due))
        elif task.picked_up_at is None:
            task.due_at = due
    for task in existing.values():
        if task.picked_up_at is None and task.sent_at is None:
            task.cancelled_at = plan.edd_reviewed_at  # the need was taken off the plan


def set_criteria_to_reside(
    cmd: cc.SetCriteriaToReside, uow: UnitOfWork, rules: ClinicalRules
) -> int:
    s = uow.session
    stay = _stay(s, cmd.stay_id)
    require_current_edd(s, stay, cmd, rules, "setting criteria to reside")
    _plan(s, stay).criteria_to_reside = join_codes(list(cmd.codes))
    s.flush()
    _changed(uow, stay)
    return stay.id


def make_referral(cmd: cc.MakeReferral, uow: UnitOfWork, rules: ClinicalRules) -> int:
    s = uow.session
    stay = _stay(s, cmd.stay_id)
    need = cmd.need.strip()
    if not need:
        raise InvalidCommand("a referral names the need (physiotherapy, social_services, ...)")
    require_current_edd(s, stay, cmd, rules, "making a referral")
    task = s.scalars(
        select(Referral)
        .where(Referral.stay_id == stay.id)
        .where(Referral.need == need)
        .where(Referral.cancelled_at.is_(None))
    ).first()
    if task is None:
        plan = _plan(s, stay)
        plan.post_discharge_needs = join_codes([*plan.needs, need])
        task = Referral(stay_id=stay.id, need=need)
        s.add(task)
        s.flush()
        _sync_referral_tasks(s, stay, plan, rules)
    if task.sent_at is None:
        task.sent_at = cmd.occurred_at
        task.sent_by = cmd.actor
    s.flush()
    _changed(uow, stay)
    return task.id


def pick_up_referral(cmd: cc.PickUpReferral, uow: UnitOfWork, rules: ClinicalRules) -> int:
    s = uow.session
    task = s.get(Referral, cmd.referral_id)
    if task is None or task.cancelled_at is not None:
        raise NoSuchStay(f"no open referral {cmd.referral_id}")
    if task.picked_up_at is None:
        task.picked_up_at = cmd.occurred_at
        task.picked_up_by = cmd.actor
    stay = _stay(s, task.stay_id)
    _changed(uow, stay)
    return task.id


def record_decision_to_admit(
    cmd: cc.RecordDecisionToAdmit, uow: UnitOfWork, rules: ClinicalRules
) -> int:
    s = uow.session
    stay = _stay(s, cmd.stay_id)
    if stay.patient_class != "E":
        raise InvalidCommand("a decision to admit is recorded on an A&E attendance")
    _plan(s, stay).decision_to_admit_at = cmd.decided_at or cmd.occurred_at
    s.flush()
    _changed(uow, stay)
    return stay.id


def set_responsible_clinician(
    cmd: cc.SetResponsibleClinician, uow: UnitOfWork, rules: ClinicalRules
) -> int:
    s = uow.session
    stay = _stay(s, cmd.stay_id)
    clinician = s.scalars(select(Clinician).where(Clinician.code == cmd.clinician_code)).first()
    if clinician is None:
        raise UnknownLocation(f"no clinician with code {cmd.clinician_code!r}")
    if stay.patient_class == "I":
        require_current_edd(s, stay, cmd, rules, "changing the responsible clinician")
    stay.clinician = clinician
    note_responsible(s, stay, cmd.from_time or cmd.occurred_at)
    s.flush()
    _changed(uow, stay)
    return stay.id


def note_responsible(session: Session, stay: Stay, at: datetime) -> None:
    """Append to the stay's clinician history when the responsible clinician changes (a new
    stay's first row is written with the stay: ``bed_moves.open_stay``)."""
    if stay.clinician is None:
        return
    session.flush()
    last = session.scalars(
        select(ResponsibleClinician)
        .where(ResponsibleClinician.stay_id == stay.id)
        .order_by(ResponsibleClinician.from_time.desc(), ResponsibleClinician.id.desc())
    ).first()
    if last is not None and last.clinician_id == stay.clinician.id:
        return
    session.add(ResponsibleClinician(stay_id=stay.id, clinician_id=stay.clinician.id, from_time=at))


def book_outpatient_visit(
    cmd: cc.BookOutpatientVisit, uow: UnitOfWork, rules: ClinicalRules
) -> int:
    s = uow.session
    if s.get(Patient, cmd.patient_id) is None:
        raise NoSuchStay(f"no patient {cmd.patient_id}")
    ward = s.scalars(select(Ward).where(Ward.code == cmd.ward)).first()
    if ward is None:
        raise UnknownLocation(f"unknown ward {cmd.ward!r}")
    row = OutpatientBooking(
        patient_id=cmd.patient_id,
        ward_id=ward.id,
        visit_date=cmd.visit_date,
        visit_time=cmd.visit_time,
        reason=cmd.reason,
        booked_by=cmd.actor,
    )
    s.add(row)
    s.flush()
    uow.add_event(events.OutpatientVisitBooked(row.id, ward.code))
    return row.id


def mark_bed_cleaned(ward: str, bed: str, at: datetime, actor: str) -> cmds.SetBedStatus:
    """The web's "bed cleaned" is HL7's A03-free bed status U: the same command."""
    return cmds.SetBedStatus(at, cmds.Location(ward, None, bed), "U", source=f"web:{actor}")


CLINICAL_HANDLERS: dict[type, RulesHandler] = {
    cc.RecordVteAssessment: record_vte_assessment,
    cc.RecordObservations: record_observations,
    cc.SetDischargePlan: set_discharge_plan,
    cc.SetCriteriaToReside: set_criteria_to_reside,
    cc.MakeReferral: make_referral,
    cc.PickUpReferral: pick_up_referral,
    cc.RecordDecisionToAdmit: record_decision_to_admit,
    cc.SetResponsibleClinician: set_responsible_clinician,
    cc.BookOutpatientVisit: book_outpatient_visit,
}


def bind_rules(rules: ClinicalRules) -> dict[type, Callable[[Any, UnitOfWork], Any]]:
    """The clinical handlers as (command, uow) functions for the message bus."""

    def bind(handler: RulesHandler) -> Callable[[Any, UnitOfWork], Any]:
        def bound(cmd: Any, uow: UnitOfWork) -> Any:
            return handler(cmd, uow, rules)

        bound.__name__ = handler.__name__
        return bound

    return {cls: bind(h) for cls, h in CLINICAL_HANDLERS.items()}
