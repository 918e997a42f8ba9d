"""Command handlers for orders and results (order communications).

Forgiving like the ADT handlers: a cancel or a result for an order we never saw is kept (the
result without an order, visible), because dropping a result is worse than a loose end.
"""

from __future__ import annotations

from sqlalchemy import select

from config.unit_of_work import UnitOfWork
from mpi.identity import resolve_identity
from whiteboard import commands as cmds
from whiteboard import events
from whiteboard.models.orders import CANCELLED, ORDERED, PERFORMED, REPORTED, Order, Result

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


def place_order(cmd: cmds.PlaceOrder, uow: UnitOfWork) -> int:
    s = uow.session
    patient = resolve_identity(s, cmd.patient).patient
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
            status=ORDERED,
            ordered_at=cmd.occurred_at,
            source=cmd.source,
        )
        s.add(order)
        s.flush()
        uow.add_event(events.OrderPlaced(order.id))
    if cmd.control == "CA" and order.status != CANCELLED:
        order.status = CANCELLED
        uow.add_event(events.OrderStatusChanged(order.id, CANCELLED))
    elif (
        cmd.control == "SC" and cmd.order_status in _PERFORMED_STATUSES and order.status == ORDERED
    ):
        order.status = PERFORMED
        uow.add_event(events.OrderStatusChanged(order.id, PERFORMED))
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
    )
    s.add(result)
    if order is not None:
        new_status = REPORTED if cmd.report_status in ("F", "C") else PERFORMED
        if order.status != new_status and order.status != REPORTED:
            order.status = new_status
            uow.add_event(events.OrderStatusChanged(order.id, new_status))
        if cmd.order.filler_order_number and not order.filler_order_number:
            order.filler_order_number = cmd.order.filler_order_number
    s.flush()
    uow.add_event(events.ResultReceived(result.id, order.id if order else None))
    return result.id


ORDER_HANDLERS = {
    cmds.PlaceOrder: place_order,
    cmds.RecordResult: record_result,
}
