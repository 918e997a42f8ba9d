"""The records clerk's duplicate queue in Chromium: side by side, differences marked, keyboard."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from mpi.identity import resolve_identity
from mpi.models import Patient
from whiteboard.commands import Identifier, PatientDetails

pytestmark = pytest.mark.browser


def _register(services, mrn: str, **fields) -> int:
    base = dict(
        family_name="JONES",
        given_names="John",
        date_of_birth=date(1958, 3, 12),
        sex="M",
        address="1 Church Road, Sale",
        postcode="M33 7XX",
    )
    details = PatientDetails(identifiers=(Identifier(mrn, "WGH", "MR"),), **{**base, **fields})
    with services.uow_factory() as uow:
        pid = resolve_identity(uow.session, details).patient.id
        uow.commit()
    return pid


def test_clerk_merges_a_pair_with_the_keyboard(page, sqlite_live_server):
    services = sqlite_live_server.services
    first = _register(services, "H1")
    second = _register(
        services, "H2", date_of_birth=date(1958, 3, 13), address="9 Elm Street", postcode="M41 5SL"
    )
    from tests.auth_helpers import StaffMaker, sign_on_page

    clerk = StaffMaker(sqlite_live_server.services)("records_clerk")
    sign_on_page(page, sqlite_live_server.url, clerk)
    page.goto(f"{sqlite_live_server.url}/mpi/review")
    page.wait_for_selector("#pair:not([hidden])")
    assert "1 pair(s) waiting" in page.inner_text("#queue-status")
    assert page.locator("#compare-body tr.conflict, #compare-body tr.differs").count() >= 2
    assert "bits" in page.inner_text("#pair-score")
    page.keyboard.press("1")  # keep A (the older record), merge B into it
    page.wait_for_selector("#empty:not([hidden])")
    with services.read_session() as s:
        assert s.scalar(select(Patient.merged_into_id).where(Patient.id == second)) == first
    page.keyboard.press("u")  # undo
    page.wait_for_selector("#pair:not([hidden])")
    with services.read_session() as s:
        assert s.scalar(select(Patient.merged_into_id).where(Patient.id == second)) is None
