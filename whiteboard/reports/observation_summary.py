"""The "observations on time" report's summary: per stay, local day and ward, kept with the record.

Counting a year of observation sets directly (every set paired with the next, a million rows)
takes seconds; this table holds the same counts per stay-day (a few hundred thousand small rows)
and the report adds them up. It is kept exact, not approximately fresh:

- **Same SQL.** Rows are counted by ``observations_on_time.due_sets``, the statement the direct
  report runs, restricted to some stays; only the split of a stay's last set between "not
  taken" and "not yet due" depends on "now", so that set's due time is stored and compared
  with "now" when the report is read.
- **Per day and ward.** The report reads ``observation_ward_day`` (the per-stay rows added up,
  some 15,000 rows a year for 40 wards); each recount adds its stays' change to it with an
  atomic ``ON CONFLICT DO UPDATE`` increment.
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
    ObservationWardDay,
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
    """(day, ward id, on time, late, not taken, not yet due, continuous) for the period: the
    day-ward totals, with the open sets still not due at ``now`` (a stay's last set, due after
    ``now``: a handful, found by index) told apart from those not taken."""
    w, s = ObservationWardDay, ObservationDaySummary
    totals = conn.execute(
        select(w.day, w.ward_id, w.on_time, w.late, w.open_sets, w.continuous)
        .where(w.day >= period.start, w.day <= period.end)
        .where(w.on_time + w.late + w.open_sets + w.continuous > 0)
    ).all()
    # The open sets due after ``now`` (about one per patient in a bed), by the open_due_ms
    # index alone and counted here: a day range or GROUP BY would draw SQLite to the day index
    # and a scan of the year. Days outside the period are simply not looked up.
    pending: dict[tuple[date, int], int] = defaultdict(int)
    for day, ward in conn.execute(select(s.day, s.ward_id).where(s.open_due_ms >= to_ms(now))):
        pending[(day, ward)] += 1
    rows: list[CountRow] = []
    for day, ward, on_time, late, open_sets, continuous in totals:
        not_yet_due = pending.get((day, ward), 0)
        rows.append((day, ward, on_time, late, open_sets - not_yet_due, not_yet_due, continuous))
    return rows


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


_TOTALS = ("on_time", "late", "continuous", "open_sets")


def _stay_totals(conn: Connection, stay_ids: list[int]) -> dict[tuple[date, int], list[int]]:
    s = ObservationDaySummary
    return {
        (day, ward): [int(on_time), int(late), int(continuous), int(opens)]
        for day, ward, on_time, late, continuous, opens in conn.execute(
            select(
                s.day,
                s.ward_id,
                func.sum(s.on_time),
                func.sum(s.late),
                func.sum(s.continuous),
                func.count(s.open_due_ms),
            )
            .where(s.stay_id.in_(stay_ids))
            .group_by(s.day, s.ward_id)
        )
    }


def _add_to_ward_days(conn: Connection, changes: dict[tuple[date, int], list[int]]) -> None:
    """Add each change to its day-ward row (created if missing), atomically in the database
    (``ON CONFLICT DO UPDATE`` with increments), so concurrent units of work both count."""
    rows = [
        {"day": day, "ward_id": ward, **dict(zip(_TOTALS, change, strict=True))}
        for (day, ward), change in changes.items()
        if any(change)
    ]
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    stmt = upsert(ObservationWardDay)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "ward_id"],
        set_={name: getattr(ObservationWardDay, name) + stmt.excluded[name] for name in _TOTALS},
    )
    conn.execute(stmt, rows)


def recount(
    conn: Connection,
    stay_ids: Iterable[int],
    tz: ZoneInfo,
    rules: ClinicalRules,
    *,
    ward_days: bool = True,
) -> int:
    """Replace these stays' rows with a fresh count and add the difference to the day-ward
    totals (``ward_days=False``: leave those to be rebuilt whole); returns the rows written."""
    ids = sorted(set(stay_ids))
    written = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        before = _stay_totals(conn, chunk) if ward_days else {}
        conn.execute(delete(ObservationDaySummary).where(ObservationDaySummary.stay_id.in_(chunk)))
        rows = count_stays(conn, chunk, tz, rules)
        if rows:
            conn.execute(insert(ObservationDaySummary), rows)
        written += len(rows)
        if ward_days:
            changes: dict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
            for row in rows:
                change = changes[(row["day"], row["ward_id"])]
                change[0] += row["on_time"]
                change[1] += row["late"]
                change[2] += row["continuous"]
                change[3] += row["open_due_ms"] is not None
            for key, old in before.items():
                change = changes[key]
                for i, value in enumerate(old):
                    change[i] -= value
            _add_to_ward_days(conn, changes)
    return written


def rebuild_ward_days(conn: Connection) -> None:
    """The day-ward totals afresh from the per-stay rows (the end of ``build``)."""
    s = ObservationDaySummary
    conn.execute(delete(ObservationWardDay))
    conn.execute(
        insert(ObservationWardDay).from_select(
            ["day", "ward_id", *_TOTALS],
            select(
                s.day,
                s.ward_id,
                func.sum(s.on_time),
                func.sum(s.late),
                func.sum(s.continuous),
                func.count(s.open_due_ms),
            ).group_by(s.day, s.ward_id),
        )
    )


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


def mark_changed(session: Session, stay_ids: Iterable[int]) -> None:
    """What ``_collect`` notes for a flushed change, for rows written with Core statements
    (which no flush sees): an admission's first occupancy (``bed_moves.open_stay``)."""
    session.info.setdefault(DIRTY_KEY, set()).update(stay_ids)


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
        conn.execute(delete(ObservationWardDay))
    with begin() as conn:
        ids = list(
            conn.scalars(select(Observation.stay_id).distinct().order_by(Observation.stay_id))
        )
    written = 0
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        with begin() as conn:
            written += recount(conn, part, tz, rules, ward_days=False)
        if progress:
            progress(min(start + chunk, len(ids)), len(ids))
    with begin() as conn:
        # Units of work committed while building added their changes to the totals; the totals
        # are made afresh from the per-stay rows in the transaction that makes them "ready".
        rebuild_ward_days(conn)
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
