"""A result for an order we never saw (issue 4 item 2): kept, on the board as a red "to
review" alert for that patient, listed on the stay panel and the patient page, acknowledged
like any result; an order arriving later takes the result over. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.integration.test_clinical_actions import DOCTOR, NURSE, SignedOnClients, admit, board
from tests.integration.test_result_alerts import (
    order,
    result,
    result_alert,
    result_id,
    send,
)
from whiteboard.models import Order, Result


@pytest.fixture
def client(app, make_staff):
    return SignedOnClients(app, make_staff)


@pytest.fixture
def clock(services):
    services.clock.freeze(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    return services.clock


def test_an_unmatched_result_is_alerted_listed_and_acknowledged(services, client, clock):
    stay = admit(services)  # 09:15 on AMU
    send(services, result("LOST1", "20261122110000", "K^Potassium^LN", flag="H"))
    rid = result_id(services, "LOST1")
    with services.read_session() as s:
        assert s.get(Result, rid).order_id is None  # kept, not dropped

    alert = result_alert(board(client), stay)
    assert (alert["level"], alert["label"], alert["ref"]) == (
        "red",
        "Lab to review",
        f"result-{rid}",
    )
    assert alert["detail"] == "Potassium (no known order LOST1): Unmatched result not acknowledged"

    [listed] = client.get(f"/api/v1/stays/{stay}", headers=NURSE).get_json()["orders"]
    assert listed["ref"] == f"result-{rid}" and listed["acknowledged_at"] is None
    record = client.get(f"/api/v1/patients/{_patient(services, rid)}", headers=DOCTOR)
    [shown] = record.get_json()["results"]
    assert (shown["id"], shown["order_id"]) == (rid, None)
    page = client.get(f"/patients/{_patient(services, rid)}", headers=DOCTOR)
    assert b"no known order" in page.data

    assert client.post(f"/api/v1/results/{rid}/acknowledge", headers=DOCTOR).status_code == 200
    assert result_alert(board(client), stay) is None


def test_a_preliminary_or_pre_admission_unmatched_result_is_not_to_review(services, client, clock):
    send(services, result("OLD9", "20261122080000", "UE^Urea^LN"))  # before the admission
    stay = admit(services)
    send(services, result("LOST2", "20261122100000", "FBC^Full blood count^LN", status="P"))
    assert result_alert(board(client), stay) is None


def test_the_order_arriving_after_its_result_takes_it_over(services, client, clock):
    stay = admit(services)
    send(services, result("LATE1", "20261122100000", "CRP^C-reactive protein^LN"))
    rid = result_id(services, "LATE1")
    assert result_alert(board(client), stay)["ref"] == f"result-{rid}"

    send(services, order("LATE1", "20261122093000", "CRP^C-reactive protein^LN"))
    with services.read_session() as s:
        placed = s.scalars(select(Order).where(Order.placer_order_number == "LATE1")).one()
        assert (s.get(Result, rid).order_id, placed.status) == (placed.id, "reported")
    # Now an ordinary routine result: acknowledged within 24 h, so no alert yet.
    assert result_alert(board(client), stay) is None
    clock.freeze(datetime(2026, 11, 23, 10, 1, tzinfo=UTC))
    assert result_alert(board(client), stay)["label"] == "Lab not acknowledged"


def _patient(services, rid: int) -> int:
    with services.read_session() as s:
        return s.get(Result, rid).patient_id
