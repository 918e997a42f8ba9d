"""What the shared push chain in Redis adds to a board push, in one process, no sockets.

A push with the shared chain (whiteboard/board/chain.py) takes the ward's lock in Redis,
reads the last push's digests (and its snapshot, when another process pushed it), emits the
patch, stores the new snapshot and lets go. This times that part of a push, ``_send``, for
the five demo wards the e2e benchmark uses, over a sequence of real snapshots (each built
after one more admission or discharge was applied):

- **baseline**: the chain of one process (a dict), as ``run.py serve`` and the code before
  the shared chain;
- **redis, one publisher**: every push from the same process (it knows the last snapshot;
  reads two digests);
- **redis, two publishers taking turns**: every push reads the other's snapshot from Redis.

The snapshots are built once, before timing; emitting goes nowhere. Patches are checked by
replaying them through a ``BoardFollower``: any resync is reported.

    python bench/push_chain.py --messages 300
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.apply_cost import demo_services, pct, traffic  # noqa: E402  (after the path is set)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp folder")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--rounds", type=int, default=3, help="replay the sequence N times")
    args = parser.parse_args()

    from whiteboard.board.chain import LocalChain, RedisChain
    from whiteboard.board.patch import BoardFollower

    services, beds = demo_services(args.database_url, "pushchain-")
    try:
        publisher = services.publisher
        # The snapshots a publisher would push: one per ward after each message for it.
        sequence: list[tuple[str, dict[str, dict[str, Any]]]] = []
        for i, raw in enumerate(traffic(args.messages, beds)):
            services.pipeline.receive(raw)
            ward = raw.split(b"PV1|1|I|")[1].split(b"^")[0].decode()
            full = publisher.snapshot(ward)
            kiosk = publisher.kiosk_snapshot(ward)
            assert full is not None and kiosk is not None
            sequence.append((ward, {"full": full, "kiosk": kiosk}))
            if (i + 1) % 100 == 0:
                print(f"  built {i + 1}/{args.messages} snapshots", file=sys.stderr)
        sizes = [len(str(v["full"])) for _w, v in sequence]
        print(f"  snapshot size p50 {statistics.median(sizes) / 1024:.0f} KB", file=sys.stderr)

        def run(chains: list[Any]) -> tuple[list[float], int, int]:
            """Push the sequence ``rounds`` times, publishers taking turns; ms per push."""
            seen: dict[tuple[str, str], BoardFollower] = {}
            resyncs, pushes = 0, 0

            def emit_for(audience: str):  # type: ignore[no-untyped-def]
                def emit(ward: str, event: str, payload: dict[str, Any]) -> None:
                    nonlocal resyncs
                    follower = seen.setdefault((audience, ward), BoardFollower())
                    if event == "board":
                        follower.on_board(payload)
                    elif follower.on_patch(payload) is None:
                        resyncs += 1

                return emit

            times: list[float] = []
            from whiteboard.board.publisher import BoardPublisher, Emitters

            publishers = [
                BoardPublisher(
                    services.sessions, emit_for("full"), "UTC", None,
                    emit_kiosk=emit_for("kiosk"), chain=chain,
                    chained=Emitters(emit_for("full"), emit_for("kiosk")),
                )
                for chain in chains
            ]  # fmt: skip
            n = 0
            for r in range(args.rounds):
                for ward, views in sequence:
                    # Each round counts the versions on, so no push looks older than the last.
                    bumped = {
                        a: {**v, "version": v["version"] + r * 1_000_000} for a, v in views.items()
                    }
                    from whiteboard.board.patch import sealed

                    bumped = {a: sealed(v) for a, v in bumped.items()}
                    pub = publishers[n % len(publishers)]
                    t0 = time.perf_counter()
                    pub._send(ward, bumped)
                    times.append((time.perf_counter() - t0) * 1000)
                    n += 1
                    pushes += 1
            whole = sum(p.whole_pushes for p in publishers)
            assert whole == 0, f"{whole} pushes went whole: is Redis at {args.redis_url}?"
            return times, resyncs, pushes

        prefix = f"bench-pushchain-{uuid.uuid4().hex[:8]}"
        base, base_resyncs, n = run([LocalChain()])
        one, one_resyncs, _ = run([RedisChain.from_url(args.redis_url, prefix + "-one")])
        two, two_resyncs, _ = run(
            [RedisChain.from_url(args.redis_url, prefix + "-two") for _ in range(2)]
        )
    finally:
        services.stop()

    db = services.engine.dialect.name
    print(f"\n{n} pushes per mode ({args.rounds} rounds of {len(sequence)}), snapshots on {db}")
    for label, times, resyncs in (
        ("baseline: one process's chain (dict)", base, base_resyncs),
        ("redis chain, one publisher", one, one_resyncs),
        ("redis chain, two publishers in turn", two, two_resyncs),
    ):
        print(
            f"  {label:38s} p50 {pct(times, 50):6.2f} ms  p99 {pct(times, 99):6.2f} ms  "
            f"(x{pct(times, 50) / pct(base, 50):4.1f} p50 of baseline)  resyncs {resyncs}"
        )


if __name__ == "__main__":
    main()
