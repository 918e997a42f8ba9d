"""The HL7 monitor API: search, one message with raw/parsed/ACK, errors, replay."""

from __future__ import annotations

import pytest

from config.layout import Layout, WardSpec, apply_layout
from tests.hl7_builder import adt


@pytest.fixture
def client(client_as):
    """The message monitor is for administrators (docs/SECURITY.md)."""
    return client_as("admin")


def test_search_and_show_a_message(services, client):
    services.pipeline.receive(adt("A01", control_id="API1", hospital_number="RM7000001"), "t")
    services.pipeline.receive(adt("A08", control_id="API2", hospital_number="RM7000002"), "t")

    found = client.get("/api/v1/hl7/messages?patient=RM7000001").get_json()["messages"]
    assert [m["control_id"] for m in found] == ["API1"]
    by_type = client.get("/api/v1/hl7/messages?type=ADT^A08&sender=PAS|WGH").get_json()
    assert [m["control_id"] for m in by_type["messages"]] == ["API2"]
    by_id = client.get("/api/v1/hl7/messages?control_id=API1").get_json()["messages"]
    entry_id = by_id[0]["id"]
    since = client.get("/api/v1/hl7/messages?since=2000-01-01T00:00:00%2B00:00").get_json()
    assert len(since["messages"]) == 2

    shown = client.get(f"/api/v1/hl7/messages/{entry_id}").get_json()
    assert shown["raw"].startswith("MSH|^~\\&|PAS|WGH")
    assert shown["parsed"][0]["segment"] == "MSH"
    assert "PID" in [s["segment"] for s in shown["parsed"]]
    assert "MSA|AA|API1" in shown["ack"]


def test_bad_queries_get_problem_bodies(client):
    bad = client.get("/api/v1/hl7/messages?since=yesterday")
    assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
    assert client.get("/api/v1/hl7/messages/999999").status_code == 404
    assert client.post("/api/v1/hl7/replay", json={"ids": "all"}).status_code == 400
    assert client.post("/api/v1/hl7/replay", json={"ids": [999999]}).status_code == 404


def test_error_queue_and_replay(services, client):
    services.pipeline.receive(adt("A01", control_id="APIERR", location="LATEWARD^^"), "t")
    [err] = client.get("/api/v1/hl7/errors").get_json()["errors"]
    assert err["control_id"] == "APIERR" and "LATEWARD" in err["error"]
    with services.uow_factory() as uow:
        apply_layout(uow.session, Layout("x", (WardSpec("LATEWARD", "L", "ward", "", ()),), (), ()))
        uow.commit()
    result = client.post("/api/v1/hl7/replay", json={"ids": [err["id"]]}).get_json()
    assert [r["code"] for r in result["results"]] == ["AA"]
    assert client.get("/api/v1/hl7/errors").get_json()["errors"] == []
