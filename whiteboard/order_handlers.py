"""Command handlers for orders and results (order communications).

Forgiving like the ADT handlers: a cancel or a result for an order we never saw is kept (the
result without an order, visible), because dropping a result is worse than a loose end.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.unit_of_work import UnitOfWork
from mpi.identity import resolve_identity
from mpi.models import Patient
from whiteboard import commands as cmds
from whiteboard import events
from whiteboard.errors import NoSuchResult, ResultNotAcknowledgeable, UnknownPatient
from whiteboard.models import Clinician, Stay, Ward
from whiteboard.models.orders import (
    CANCELLED,
    FINAL_STATUSES,
    ORDERED,
    PERFORMED,
    REPORTED,
    Order,
    Result,
)


def wards_of(session: Session, patient_id: int) -> tuple[str, ...]:
    """The wards where the patient is now: their boards show the patient's result alerts."""
    return tuple(
        session.scalars(
            select(Ward.code)
            .join(Stay, Stay.ward_id == Ward.id)
            .where(Stay.patient_id == patient_id)
            .where(Stay.state == "active")
            .order_by(Ward.code)
            .distinct()
        )
    )


# ORC-5 order status (HL7 table 0038) values that mean the work has been done.
_PERFORMED_STATUSES = {"IP", "A", "CM"}


def _find_order(uow: UnitOfWork, details: cmds.OrderDetails) -> Order | None:
    s = uow.session
    if details.placer_order_number:
        found = s.scalars(
            select(Order)
            .where(Order.placer_order_number == details.placer_order_number)
            .order_by(Order.id)
        ).first()
        if found is not None:
            return found
    if details.filler_order_number:
        return s.scalars(
            select(Order).where(Order.filler_order_number == details.filler_order_number)
        ).first()
    return None


def _order_patient(s: Session, cmd: cmds.PlaceOrder) -> Patient:
    """The web form names our own record; HL7 names the patient by PID (resolved)."""
    if cmd.patient_id is None:
        return resolve_identity(s, cmd.patient).patient
    patient = s.get(Patient, cmd.patient_id)
    if patient is None or patient.merged_into_id is not None:
        raise UnknownPatient(f"no patient {cmd.patient_id}")
    return patient


def is_consultant_directed(s: Session, cmd: cmds.PlaceOrder) -> bool:
    """Directed by a consultant: the order says so (the web route sets it for a signed-in
    consultant, or a doctor who ticked "directed by a consultant"), or an HL7 order's ORC-12
    names a clinician whose grade is consultant (the layout's consultants). A web order's
    orderer is a signed-in username whose role already decided it, so it is not looked up."""
    details = cmd.order
    if details.consultant_directed:
        return True
    if not details.ordered_by or cmd.patient_id is not None:
        return False
    grade = s.scalars(select(Clinician.grade).where(Clinician.code == details.ordered_by)).first()
    return grade == "consultant"


def _adopt_unmatched_results(uow: UnitOfWork, order: Order) -> None:
    """Results that arrived before their order (kept with no order) join it now, so the
    order's lifecycle and alert take them over."""
    s = uow.session
    numbers = [n for n in (order.placer_order_number, order.filler_order_number) if n]
    orphans = s.scalars(
        select(Result)
        .where(Result.order_id.is_(None))
        .where(Result.patient_id == order.patient_id)
        .where(Result.placer_order_number.in_(numbers) | Result.filler_order_number.in_(numbers))
        .order_by(Result.reported_at, Result.id)
    ).all()
    for result in orphans:
        result.order_id = order.id
        order.performed_at = order.performed_at or result.reported_at
        order.status = REPORTED if result.report_status in FINAL_STATUSES else PERFORMED


def place_order(cmd: cmds.PlaceOrder, uow: UnitOfWork) -> int:
    s = uow.session
    patient = _order_patient(s, cmd)
    order = s.scalars(
        select(Order)
        .where(Order.placer_system == cmd.order.placer_system)
        .where(Order.placer_order_number == cmd.order.placer_order_number)
    ).first()
    if order is None:
        order = Order(
            patient_id=patient.id,
            placer_system=cmd.order.placer_system,
            placer_order_number=cmd.order.placer_order_number,
            filler_order_number=cmd.order.filler_order_number,
            service_code=cmd.order.service_code,
            service_text=cmd.order.service_text,
            ordering_practice=cmd.order.ordering_practice,
            kind=cmd.order.kind,
            modality=cmd.order.modality,
            priority=cmd.order.priority,
            status=ORDERED,
            ordered_at=cmd.occurred_at,
            source=cmd.source,
            ordered_by=cmd.order.ordered_by,
            consultant_directed=is_consultant_directed(s, cmd),
        )
        s.add(order)
        s.flush()
        _adopt_unmatched_results(uow, order)
        uow.add_event(events.OrderPlaced(order.id, wards_of(s, patient.id), patient.id))
    if cmd.control == "CA" and order.status != CANCELLED:
        order.status = CANCELLED
        uow.add_event(events.OrderStatusChanged(order.id, CANCELLED, wards_of(s, order.patient_id)))
    elif (
        cmd.control == "SC" and cmd.order_status in _PERFORMED_STATUSES and order.status == ORDERED
    ):
        order.status = PERFORMED
        order.performed_at = order.performed_at or cmd.occurred_at
        uow.add_event(events.OrderStatusChanged(order.id, PERFORMED, wards_of(s, order.patient_id)))
    if cmd.order.filler_order_number and not order.filler_order_number:
        order.filler_order_number = cmd.order.filler_order_number
    s.flush()
    return order.id


def record_result(cmd: cmds.RecordResult, uow: UnitOfWork) -> int:
    s = uow.session
    patient = resolve_identity(s, cmd.patient).patient
    order = _find_order(uow, cmd.order)
    result = Result(
        order_id=order.id if order else None,
        patient_id=patient.id,
        placer_order_number=cmd.order.placer_order_number,
        filler_order_number=cmd.order.filler_order_number or "",
        service_code=cmd.order.service_code,
        service_text=cmd.order.service_text,
        report_status=cmd.report_status,
        observations="\n".join(cmd.observations),
        reported_at=cmd.occurred_at,
        source=cmd.source,
        result_urgency=cmd.result_urgency,
    )
    s.add(result)
    on_wards = wards_of(s, patient.id)
    if order is not None:
        # A result means the test was done: at the latest when it was reported.
        order.performed_at = order.performed_at or cmd.occurred_at
        new_status = REPORTED if cmd.report_status in FINAL_STATUSES else PERFORMED
        if order.status != new_status and order.status != REPORTED:
            order.status = new_status
            uow.add_event(events.OrderStatusChanged(order.id, new_status, on_wards))
        if cmd.order.filler_order_number and not order.filler_order_number:
            order.filler_order_number = cmd.order.filler_order_number
    s.flush()
    uow.add_event(events.ResultReceived(result.id, order.id if order else None, on_wards))
    return result.id


def acknowledge_result(cmd: cmds.AcknowledgeResult, uow: UnitOfWork) -> int:
    """Record who acknowledged a final (or corrected) report and when; once only, so the
    first clinician to take responsibility stays named."""
    s = uow.session
    result = s.get(Result, cmd.result_id)
    if result is None:
        raise NoSuchResult(f"no result {cmd.result_id}")
    if result.acknowledged_at is not None:
        raise ResultNotAcknowledgeable(
            f"result {result.id} was acknowledged by {result.acknowledged_by} "
            f"at {result.acknowledged_at.isoformat()}",
            "already-acknowledged",
        )
    if result.report_status not in FINAL_STATUSES:
        raise ResultNotAcknowledgeable(
            f"result {result.id} is a preliminary report: acknowledge the final one",
            "result-not-final",
        )
    result.acknowledged_at = cmd.occurred_at
    result.acknowledged_by = cmd.actor
    s.flush()
    uow.add_event(
        events.ResultAcknowledged(
            result.id, result.patient_id, cmd.actor, wards_of(s, result.patient_id)
        )
    )
    return result.id


ORDER_HANDLERS = {
    cmds.PlaceOrder: place_order,
    cmds.RecordResult: record_result,
    cmds.AcknowledgeResult: acknowledge_result,
}
