"""What the nightly GP feed tells the rest of the system when it changes a record.

A feed row that changes a patient others already know about (new address, a blank name or NHS
number filled, a practice id linked to a hospital record) is announced as
``PatientDetailsCorrected``, the event an ADT correction, a merge and an unlink raise: the
integration engine's ``OutboxHook`` queues one A08 per patient per transaction for every
``patient_changes`` subscriber, and the boards of the wards showing the patient refresh.

Both feed paths note the patients a transaction (a per-row batch, a bulk chunk) changed here
and add the events just before that transaction commits, so the outbound rows commit with the
change and the bus hears of it only afterwards. Only a few thousand patients are held at a
time, however long the file. Not announced: a row skipped as unchanged, a row that changed
nothing, and a patient the feed created (no other system has heard of them; announcing the
first load of a 1.4 million-row list would queue 1.4 million A08s).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, union

from mpi.events import PatientDetailsCorrected
from whiteboard.models import Stay, Ward
from whiteboard.models.clinical import OutpatientBooking

if TYPE_CHECKING:
    from config.bootstrap import Services

# A row that attaches its practice id (and NHS number) to a record found by NHS number or by
# scoring changes that record's identifiers, which an A08 carries in PID-3.
LINK_TIERS = ("nhs_number", "probabilistic")
IN_BATCH = 2000


def announced_fields(created: bool, tier: str, changed: tuple[str, ...]) -> tuple[str, ...]:
    """The fields one feed row changed on an existing record; () when there is nothing to say."""
    if created:
        return ()
    return (*changed, "identifiers") if tier in LINK_TIERS else changed


class FeedAnnouncements:
    """The patients one transaction of the feed changed, each with every field it changed."""

    def __init__(self) -> None:
        self._fields: dict[int, dict[str, None]] = {}

    def note(self, patient_id: int, fields: tuple[str, ...]) -> None:
        if fields:
            self._fields.setdefault(patient_id, {}).update(dict.fromkeys(fields))

    def add_to(self, uow: Any, today: date) -> None:
        """Add one event per changed patient to ``uow`` (call just before it commits)."""
        if not self._fields:
            return
        wards = wards_showing(uow.session, list(self._fields), today)
        for patient_id, fields in self._fields.items():
            uow.add_event(
                PatientDetailsCorrected(patient_id, tuple(fields), wards.get(patient_id, ()))
            )
        self._fields = {}


def board_day(services: Services) -> date:
    """The day the boards are showing (the hospital's time zone): whose visits are listed."""
    return services.clock.now().astimezone(ZoneInfo(services.settings.timezone)).date()


def wards_showing(session: Any, patient_ids: list[int], today: date) -> dict[int, tuple[str, ...]]:
    """The wards whose boards show each patient: an active stay there, or a visit booked there
    for ``today`` (the board lists those as visiting). A few set queries per chunk."""
    found: dict[int, dict[str, None]] = {}
    for start in range(0, len(patient_ids), IN_BATCH):
        ids = patient_ids[start : start + IN_BATCH]
        for patient_id, code in session.execute(_wards_query(), {"ids": ids, "today": today}):
            found.setdefault(patient_id, {})[code] = None
    return {pid: tuple(sorted(codes)) for pid, codes in found.items()}


def _wards_query() -> Any:
    staying = (
        select(Stay.patient_id, Ward.code)
        .join(Ward, Ward.id == Stay.ward_id)
        .where(Stay.patient_id.in_(bindparam("ids", expanding=True)))
        .where(Stay.state == "active")
    )
    visiting = (
        select(OutpatientBooking.patient_id, Ward.code)
        .join(Ward, Ward.id == OutpatientBooking.ward_id)
        .where(OutpatientBooking.patient_id.in_(bindparam("ids", expanding=True)))
        .where(OutpatientBooking.visit_date == bindparam("today"))
        .where(OutpatientBooking.cancelled_at.is_(None))
    )
    return union(staying, visiting)
