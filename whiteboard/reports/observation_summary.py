"""The "observations on time" report's summary: per stay, local day and ward, kept with the record.

Counting a year of observation sets directly (every set paired with the next, a million rows)
takes seconds; this table holds the same counts per stay-day (a few hundred thousand small rows)
and the report adds them up. It is kept exact, not approximately fresh:

- **Same SQL.** Rows are counted by ``observations_on_time.due_sets``, the statement the direct
  report runs, restricted to some stays; only the split of a stay's last set between "not
  taken" and "not yet due" depends on "now", so that set's due time is stored and compared
  with "now" when the report is read.
- **Same unit of work.** Every flush that touches a stay's sets, its bed intervals, or its
  discharge, state, class or ward marks the stay (``track_changes``); before the unit of work
  commits, ``SummaryHook`` recounts the marked stays' rows in the same transaction. A set
  entered late for an earlier time, a cancelled discharge or a corrected transfer are counted
  again with everything else about that stay.
- **Built for one basis.** The counts depend on the time zone (local days) and the observation
  rules (intervals). ``observation_summary_state`` records the basis it was built for; the
  report reads the summary only when it is complete ("ready") for the basis in force and no set
  is dated after the report's "now", and otherwise counts directly. ``build`` (the CLI
  ``reports build-observation-summary``, and the scheduler job when the summary is missing or
  stale) fills it for existing data, with progress.

Writes that bypass the ORM session (bulk Core inserts, e.g. bench data generation) are not
seen; run ``build`` after them.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, delete, func, insert, inspect, select, update
from sqlalchemy.orm import Session

from config.clinical import ClinicalRules
from config.db import utcnow
from whiteboard.models import (
    BedOccupancy,
    Observation,
    ObservationDaySummary,
    ObservationSummaryState,
    Stay,
)
from whiteboard.reports.observations_on_time import CountRow, due_sets, hour_to_day
from whiteboard.reports.period import Period
from whiteboard.reports.sql_time import HOUR_MS, to_ms

STATE_ID = 1
DIRTY_KEY = "observation_summary_stays"
# Stay columns the counts read: the discharge ("left"), which stays count, the fallback ward.
_STAY_COLUMNS = ("discharged_at", "state", "patient_class", "ward_id")


def basis(tz: ZoneInfo, rules: ClinicalRules) -> str:
    """What the counts depend on besides the record: local days and the observation rules."""
    return hashlib.sha256(f"{tz.key}|{rules.obs!r}".encode()).hexdigest()[:32]


def _state(conn: Connection) -> Any:
    return conn.execute(
        select(ObservationSummaryState.basis, ObservationSummaryState.status).where(
            ObservationSummaryState.id == STATE_ID
        )
    ).first()


def usable(conn: Connection, tz: ZoneInfo, rules: ClinicalRules, now: datetime) -> bool:
    """Complete for this basis, and no set dated after ``now`` (the direct count ignores
    those; the summary holds the record as it stands)."""
    state = _state(conn)
    if state is None or state.status != "ready" or state.basis != basis(tz, rules):
        return False
    later = conn.execute(select(Observation.id).where(Observation.taken_at > now).limit(1))
    return later.first() is None


def read_counts(conn: Connection, period: Period, now: datetime) -> list[CountRow]:
    """(day, ward id, on time, late, not taken, not yet due, continuous) for the period."""
    s = ObservationDaySummary
    now_ms = to_ms(now)
    rows = conn.execute(
        select(
            s.day,
            s.ward_id,
            func.sum(s.on_time),
            func.sum(s.late),
            func.count(s.open_due_ms).filter(s.open_due_ms < now_ms),
            func.count(s.open_due_ms).filter(s.open_due_ms >= now_ms),
            func.sum(s.continuous),
        )
        .where(s.day >= period.start, s.day <= period.end)
        .group_by(s.day, s.ward_id)
    ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


@dataclass
class _Row:
    on_time: int = 0
    late: int = 0
    continuous: int = 0
    open_due_ms: int | None = None


def count_stays(
    conn: Connection, stay_ids: list[int], tz: ZoneInfo, rules: ClinicalRules
) -> list[dict[str, Any]]:
    """The summary rows of these stays, counted by the report's own statement."""
    if not stay_ids:
        return []
    q = due_sets(conn, (Observation.stay_id.in_(stay_ids),), tz, rules)
    if q is None:
        return []
    c = q.sets.c
    due_hour, taken_hour = c.due // HOUR_MS, c.taken // HOUR_MS
    by_due = conn.execute(
        select(
            c.stay_id,
            due_hour,
            q.due_ward,
            q.count_if(q.on_time),
            q.count_if(q.late),
            func.max(c.due).filter(q.open),
        )
        .where(q.judged)
        .group_by(c.stay_id, due_hour, q.due_ward)
    ).all()
    by_continuous = conn.execute(
        select(c.stay_id, taken_hour, q.taken_ward, func.count())
        .where(c.continuous)
        .group_by(c.stay_id, taken_hour, q.taken_ward)
    ).all()
    day_of = hour_to_day([r[1] for r in by_due] + [r[1] for r in by_continuous], tz)
    rows: dict[tuple[int, date, int], _Row] = defaultdict(_Row)
    for stay_id, hour, ward, on_time, late, open_due in by_due:
        row = rows[(stay_id, day_of[hour], ward)]
        row.on_time += int(on_time or 0)
        row.late += int(late or 0)
        if open_due is not None:  # at most one a stay: its last set
            row.open_due_ms = int(open_due)
    for stay_id, hour, ward, n in by_continuous:
        rows[(stay_id, day_of[hour], ward)].continuous += int(n)
    return [
        {
            "stay_id": stay_id,
            "day": day,
            "ward_id": ward,
            "on_time": r.on_time,
            "late": r.late,
            "continuous": r.continuous,
            "open_due_ms": r.open_due_ms,
        }
        for (stay_id, day, ward), r in rows.items()
    ]


def recount(conn: Connection, stay_ids: Iterable[int], tz: ZoneInfo, rules: ClinicalRules) -> int:
    """Replace these stays' rows with a fresh count; returns the rows written."""
    ids = sorted(set(stay_ids))
    written = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        conn.execute(delete(ObservationDaySummary).where(ObservationDaySummary.stay_id.in_(chunk)))
        rows = count_stays(conn, chunk, tz, rules)
        if rows:
            conn.execute(insert(ObservationDaySummary), rows)
        written += len(rows)
    return written


# --- kept with the record ------------------------------------------------------------------


def _collect(session: Session, _flush_context: Any) -> None:
    """``after_flush``: note every stay whose counts this flush may change."""
    marked: set[int] = session.info.setdefault(DIRTY_KEY, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Observation | BedOccupancy):
            marked.add(obj.stay_id)
            history = inspect(obj).attrs.stay_id.history
            marked.update(v for v in history.deleted or () if v is not None)
        elif isinstance(obj, Stay) and obj not in session.new:
            attrs = inspect(obj).attrs
            if any(attrs[name].history.has_changes() for name in _STAY_COLUMNS):
                marked.add(obj.id)


def track_changes(listen: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register the collector on a session factory (``UnitOfWorkFactory.listen``). Marks are
    never dropped on a rollback (a savepoint's would take earlier marks with it): recounting a
    stay that did not change writes the same rows again."""
    listen("after_flush", _collect)


class SummaryHook:
    """Unit-of-work ``before_commit`` hook: recount the stays this unit of work touched, in its
    own transaction, whenever a summary exists (being built or ready)."""

    def __init__(self, tz_name: str, rules: ClinicalRules) -> None:
        self.tz = ZoneInfo(tz_name)
        self.rules = rules

    def __call__(self, session: Session, _events: list[Any]) -> None:
        session.flush()  # so that ``_collect`` has seen every change
        marked = session.info.pop(DIRTY_KEY, None)
        if not marked:
            return
        conn = session.connection()
        if _state(conn) is None:
            return  # no summary yet: ``build`` counts everything when it is made
        recount(conn, marked, self.tz, self.rules)


# --- building it for existing data ----------------------------------------------------------


Begin = Callable[[], AbstractContextManager[Connection]]


def build(
    begin: Begin,
    tz: ZoneInfo,
    rules: ClinicalRules,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = 2000,
) -> int:
    """Count every stay with observation sets, ``chunk`` stays a transaction; returns the rows.

    ``begin()`` opens a write transaction and yields its connection (``engine.begin``, or
    ``write_transaction`` for a running server's writer lock).

    The state row is written first as "building", so units of work committed meanwhile keep
    their stays' rows current; it turns "ready" (for this basis) at the end.
    """
    key = basis(tz, rules)
    with begin() as conn:
        conn.execute(delete(ObservationSummaryState))
        conn.execute(
            insert(ObservationSummaryState).values(
                id=STATE_ID, basis=key, status="building", stays=0, updated_at=utcnow()
            )
        )
        conn.execute(delete(ObservationDaySummary))
    with begin() as conn:
        ids = list(
            conn.scalars(select(Observation.stay_id).distinct().order_by(Observation.stay_id))
        )
    written = 0
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        with begin() as conn:
            written += recount(conn, part, tz, rules)
        if progress:
            progress(min(start + chunk, len(ids)), len(ids))
    with begin() as conn:
        conn.execute(
            update(ObservationSummaryState)
            .where(ObservationSummaryState.id == STATE_ID)
            .values(status="ready", stays=len(ids), updated_at=utcnow())
        )
    if progress and not ids:
        progress(0, 0)
    return written


def needs_build(conn: Connection, tz: ZoneInfo, rules: ClinicalRules) -> bool:
    state = _state(conn)
    return state is None or state.status != "ready" or state.basis != basis(tz, rules)


@contextmanager
def write_transaction(uow_factory: Any) -> Iterator[Connection]:
    """A unit of work's connection, committed on success (on SQLite it takes the process's
    writer lock, so building alongside a running server does not fight its writers)."""
    with uow_factory() as uow:
        yield uow.session.connection()
        uow.commit()
