"""Compare two GP-feed databases: did the bulk path write what the per-row path wrote?

    python -m bench.gp_feed_compare URL_PER_ROW URL_BULK

Both databases must have started from the same index and imported the same file (one with
``import_file(..., bulk=False)``, one with the default bulk path; ``bench/mpi_scale.py
--feed-method`` makes either). Everything the feed writes is compared -- patients, links, queue
entries with their explanations, name and address history, blocking keys, identity audit
events and the run's counts -- with patients named by creation order rather than by id
(PostgreSQL hands the bulk path ids a batch at a time, so ids may differ). Exit code 1 if
anything differs. ``tests/integration/test_gp_feed_bulk.py`` uses ``snapshot`` on a small file
of hard cases; this is the same check at benchmark size.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mpi.audit import IdentityEvent
from mpi.gp_feed_run import GpFeedRun
from mpi.history import BlockingKey, PatientAddress, PatientName
from mpi.models import Patient, PatientIdentifier
from mpi.review import ReviewPair


def snapshot(services: Any) -> dict[str, Any]:
    """Everything the feed writes, with patients named by creation order, not by id."""
    with services.read_session() as s:
        ids = list(s.scalars(select(Patient.id).order_by(Patient.id)))
        rank = {pid: n for n, pid in enumerate(ids)}

        def who(pid: int | None) -> int | None:
            return None if pid is None else rank[pid]

        patients = [
            (
                p.family_name,
                p.given_names,
                p.date_of_birth,
                p.sex,
                p.address,
                p.postcode,
                p.gp_practice_code,
                p.nhs_number,
                who(p.merged_into_id),
                p.placeholder,
                p.dob_placeholder,
                p.created_origin,
            )
            for p in s.scalars(select(Patient).order_by(Patient.id))
        ]
        links = sorted(
            (
                i.authority,
                i.value,
                who(i.patient_id),
                i.id_type,
                i.valid,
                i.link_source,
                i.link_state,
                i.link_score,
                i.source_hash,
            )
            for i in s.scalars(select(PatientIdentifier))
        )
        pairs = sorted(
            (
                who(p.patient_a_id),
                who(p.patient_b_id),
                p.score,
                p.risk,
                p.state,
                p.found_by,
                _renamed(p.decision, who),
            )
            for p in s.scalars(select(ReviewPair))
        )
        events = Counter(
            (e.kind, who(e.patient_id), who(e.other_patient_id), e.actor, repr(e.detail))
            for e in s.scalars(select(IdentityEvent))
        )
        names = Counter(
            (who(n.patient_id), n.family_name, n.given_names, n.source)
            for n in s.scalars(select(PatientName))
        )
        addresses = Counter(
            (who(a.patient_id), a.address, a.postcode, a.source)
            for a in s.scalars(select(PatientAddress))
        )
        keys = sorted((who(k.patient_id), k.key) for k in s.scalars(select(BlockingKey)))
        runs = [(r.state, r.counts, r.errors) for r in s.scalars(select(GpFeedRun))]
    return {
        "patients": patients,
        "links": links,
        "pairs": pairs,
        "events": events,
        "names": names,
        "addresses": addresses,
        "keys": keys,
        "runs": runs,
    }


def _renamed(decision: dict[str, Any], who: Callable[[int | None], int | None]) -> str:
    """A stored explanation names both records by id: name them by creation order instead."""
    out = dict(decision)
    out["record_id_a"] = who(int(decision["record_id_a"]))
    out["record_id_b"] = who(int(decision["record_id_b"]))
    return repr(sorted(out.items()))


class _Database:
    """Just enough of ``Services`` for ``snapshot``: a read session on one database."""

    def __init__(self, url: str) -> None:
        from config.db import make_engine

        self.engine = make_engine(url)

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        with Session(self.engine) as session:
            yield session


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 2:
        print(__doc__)
        return 2
    a, b = (snapshot(_Database(url)) for url in args)
    differ = False
    for part in a:
        if part == "runs":
            same = [r[1] for r in a[part]] == [r[1] for r in b[part]]
            print(f"run counts: {[r[1] for r in a[part]]} / {[r[1] for r in b[part]]}")
        else:
            same = a[part] == b[part]
            size = sum(a[part].values()) if isinstance(a[part], Counter) else len(a[part])
            print(f"{part}: {size:,} rows, {'identical' if same else 'DIFFERENT'}")
        differ = differ or not same
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
