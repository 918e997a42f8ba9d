"""The shared push chain: several publishers, one chain of patches per ward, through Redis.

Each process of a split site publishes board pushes (the MLLP listener for HL7, each web
process for web actions). With the chain of last pushes in Redis every publisher makes its
patch against what was really pushed last, whoever pushed it, so a board applies every patch
and never has to ask for the whole board again (whiteboard/board/chain.py).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from config.bootstrap import Services, bootstrap
from config.layout import apply_layout, load_layout
from config.settings import Settings
from tests.hl7_builder import ack_code, adt
from whiteboard.board.chain import ChainUnavailable, Last, LocalChain, RedisChain
from whiteboard.board.patch import BoardFollower

BEDS = ["A1", "A2", "A3", "A4", "SR1"]


GIVEN = ("Ann", "Bilal", "Cerys", "Dev", "Eilidh", "Femi", "Grace", "Huw", "Isla", "Jack")


def person(i: int) -> dict[str, Any]:
    """Admission i's patient: clearly a different person each time (name, forename and birth
    date all differ), so the patient index never takes two of them for one."""
    born = date(1930, 1, 1) + timedelta(days=(i * 7919) % 25_000)
    letters = "".join(chr(65 + (i // 26**k) % 26) for k in range(3))
    return dict(
        family=f"CHAIN{letters}",
        given=GIVEN[i % len(GIVEN)],
        hospital_number=f"RM81{i:05d}",
        nhs_number=None,
        dob=born.strftime("%Y%m%d"),
        sex="FM"[i % 2],
        visit=f"VC{i:05d}",
    )


def admit(i: int, beds: list[str] = BEDS) -> bytes:
    return adt("A01", location=f"AMU^A^{beds[i % len(beds)]}", **person(i))


def discharge(i: int, beds: list[str] = BEDS) -> bytes:
    return adt(
        "A03",
        location=f"AMU^A^{beds[i % len(beds)]}",
        discharge_time="20261122120000",
        **person(i),
    )


def day(n: int, beds: list[str] | None = None, start: int = 0) -> list[bytes]:
    """Admissions and discharges that keep these beds of AMU turning over (patients
    ``start`` onwards, each admitted to the bed of its number)."""
    beds = beds or BEDS
    messages = []
    for k in range(n):
        if k >= len(beds):
            messages.append(discharge(start + k - len(beds), beds))
        messages.append(admit(start + k, beds))
    return messages


class Screen:
    """What every board of the ward sees, in the order the publishers emitted it."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def emitter(self, audience: str):  # type: ignore[no-untyped-def]
        def emit(ward: str, event: str, payload: dict[str, Any]) -> None:
            if ward == "AMU":
                with self._lock:
                    self.events.append((audience, event, payload))

        return emit

    def follow(self, audience: str) -> tuple[BoardFollower, list[str]]:
        """Replay the pushes of one audience through a follower, as board.js applies them."""
        follower, kinds = BoardFollower(), []
        for aud, event, payload in list(self.events):
            if aud != audience:
                continue
            kinds.append(event)
            if event == "board":
                follower.on_board(payload)
            elif follower.on_patch(payload) is None and follower.resync_due():
                pass  # a real board would join again; here the count is the finding
        return follower, kinds


def _settle(services: list[Services], timeout: float = 30.0) -> None:
    """Wait until every publisher's queue is empty and its last push has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = [s.publisher.pushes for s in services]
        if all(s.publisher._queue.empty() for s in services):
            time.sleep(0.3)
            if [s.publisher.pushes for s in services] == before:
                return
        time.sleep(0.05)
    raise AssertionError("publishers did not settle")


@pytest.fixture
def pair(settings: Settings, redis_url: str) -> Iterator[tuple[Services, Services, Screen]]:
    """Two publishers (as two processes would be) on one database and one Redis chain."""
    shared = settings.replace(
        redis_url=redis_url, redis_channel=f"wardboard-test-{uuid.uuid4().hex[:8]}"
    )
    screen = Screen()
    made = []
    for _ in range(2):
        svc = bootstrap(shared, emit=screen.emitter("full"), emit_kiosk=screen.emitter("kiosk"))
        made.append(svc)
    with made[0].uow_factory() as uow:
        apply_layout(uow.session, load_layout(shared.layout_file))
        uow.commit()
    # One moment for both, so a fresh snapshot at the end shows the same time-based alerts.
    moment = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    for svc in made:
        svc.clock.freeze(moment)
    try:
        yield made[0], made[1], screen
    finally:
        for svc in made:
            svc.stop()


def _check_every_patch_applied(a: Services, screen: Screen) -> int:
    fresh = {"full": a.publisher.snapshot("AMU"), "kiosk": a.publisher.kiosk_snapshot("AMU")}
    for audience in ("full", "kiosk"):
        follower, kinds = screen.follow(audience)
        assert kinds and kinds[0] == "board"
        assert set(kinds[1:]) == {"board_patch"}, "every push after the first is a patch"
        assert follower.resyncs == 0
        got, want = dict(follower.snapshot), dict(fresh[audience])
        got.pop("generated_at"), want.pop("generated_at")
        assert got == want
    return len(kinds)


def test_two_publishers_taking_turns_make_one_chain_of_patches(pair):
    a, b, screen = pair
    for i, message in enumerate(day(14)):
        sender = (a, b)[i % 2]
        assert ack_code(sender.pipeline.receive(message)) == "AA"
        _settle([a, b])  # each push done before the other publisher's next change
    assert a.publisher.pushes > 5 and b.publisher.pushes > 5
    assert a.publisher.whole_pushes == b.publisher.whole_pushes == 0
    assert _check_every_patch_applied(a, screen) == a.publisher.pushes + b.publisher.pushes


def test_two_publishers_pushing_at_once_never_send_an_older_board_after_a_newer(pair):
    a, b, screen = pair
    errors: list[str] = []

    def send(svc: Services, mine: list[bytes]) -> None:
        for message in mine:
            ack = svc.pipeline.receive(message)
            if ack_code(ack) != "AA":
                errors.append(ack.decode(errors="replace"))

    # Each publisher turns over its own beds at the same time: their pushes race for the ward.
    threads = [
        threading.Thread(target=send, args=(a, day(12, ["A1", "A2"], start=0))),
        threading.Thread(target=send, args=(b, day(12, ["A3", "A4", "SR1"], start=100))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    _settle([a, b])
    _check_every_patch_applied(a, screen)
    versions = [payload["version"] for aud, _e, payload in screen.events if aud == "full"]
    assert versions == sorted(versions)


def test_the_chain_in_redis_is_what_was_pushed_last(pair):
    a, _b, screen = pair
    assert ack_code(a.pipeline.receive(admit(0))) == "AA"
    _settle([a])
    chain = RedisChain.from_url(a.settings.redis_url, a.settings.redis_channel)
    last = chain.last("AMU", ("full", "kiosk"))
    [pushed] = [p for aud, _e, p in screen.events if aud == "full"]
    assert last.views["full"] == pushed["snapshot"]  # read back from JSON, equal to the original
    assert [p["hospital_number"] for p in last.views["kiosk"]["patients"]] == [None]


class DeadRedis:
    """A Redis client whose every call fails, as redis-py does when the server is down."""

    def __getattr__(self, name: str) -> Any:
        import redis

        def fail(*_args: Any, **_kwargs: Any) -> Any:
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Refused.")

        return fail


@pytest.fixture
def one(settings: Settings, redis_url: str) -> Iterator[tuple[Services, Screen]]:
    shared = settings.replace(
        redis_url=redis_url, redis_channel=f"wardboard-test-{uuid.uuid4().hex[:8]}"
    )
    screen = Screen()
    svc = bootstrap(shared, emit=screen.emitter("full"), emit_kiosk=screen.emitter("kiosk"))
    with svc.uow_factory() as uow:
        apply_layout(uow.session, load_layout(shared.layout_file))
        uow.commit()
    yield svc, screen
    svc.stop()


def test_redis_down_still_delivers_whole_boards_then_patches_again(one, caplog):
    svc, screen = one
    publisher = svc.publisher
    working = publisher.chain
    assert isinstance(working, RedisChain)
    publisher._chain = RedisChain(DeadRedis(), svc.settings.redis_channel)
    publisher.chain_retry_seconds = 0  # try Redis again on every push, for the test
    for i in range(3):
        assert ack_code(svc.pipeline.receive(admit(i))) == "AA"
        _settle([svc])
    kinds = [e for aud, e, _p in screen.events if aud == "full"]
    assert kinds == ["board"] * 3
    assert publisher.whole_pushes == 3 and not publisher.chain_ok
    assert "sending whole boards" in caplog.text

    publisher._chain = working  # Redis is back
    for i in range(3, 5):
        assert ack_code(svc.pipeline.receive(admit(i))) == "AA"
        _settle([svc])
    kinds = [e for aud, e, _p in screen.events if aud == "full"]
    # The first push back is whole (the chain's copy is older than the boards'), then patches.
    assert kinds == ["board"] * 4 + ["board_patch"]
    assert publisher.chain_ok
    follower, _kinds = screen.follow("full")
    assert follower.resyncs == 0


def test_redis_not_listening_at_all_still_delivers_whole_boards(settings: Settings):
    nowhere = settings.replace(redis_url="redis://127.0.0.1:1/0")
    screen = Screen()
    svc = bootstrap(nowhere, emit=screen.emitter("full"))
    try:
        with svc.uow_factory() as uow:
            apply_layout(uow.session, load_layout(nowhere.layout_file))
            uow.commit()
        for i in range(2):
            assert ack_code(svc.pipeline.receive(admit(i))) == "AA"
            _settle([svc])
        events = [(e, p) for _aud, e, p in screen.events]
        assert [e for e, _p in events] == ["board", "board"]
        shown = events[-1][1]["snapshot"]["patients"][1]["display_name"]
        assert shown.startswith(person(1)["family"])
        assert svc.publisher.whole_pushes == 2
    finally:
        svc.stop()


def test_a_push_older_than_the_last_one_sent_is_dropped():
    chain = LocalChain()
    chain.remember("AMU", {"full": {"version": 7, "digest": "x"}})
    assert chain.last("AMU", ("full",)).newer_than({"version": 6})
    assert not chain.last("AMU", ("full",)).newer_than({"version": 7})
    assert not Last({}).newer_than({"version": 1})


def test_a_busy_ward_lock_is_given_up_after_the_wait(redis_url: str):
    import redis

    client = redis.Redis.from_url(redis_url)
    prefix = f"wardboard-test-{uuid.uuid4().hex[:8]}"
    holder = RedisChain(client, prefix, lock_seconds=5, wait_seconds=0.2)
    other = RedisChain(client, prefix, lock_seconds=5, wait_seconds=0.2)
    with holder.hold("AMU"):
        with pytest.raises(ChainUnavailable, match="still held"), other.hold("AMU"):
            pass
        with other.hold("W4"):  # other wards are not held up
            pass
    with other.hold("AMU"):
        pass


# Processes: two web processes and an MLLP listener taking turns on one ward ----------------


class WebNurse:
    """A nurse signed on with card and PIN to one web process, recording observations."""

    def __init__(self, url: str, card: str, pin: str) -> None:
        import requests

        from tests.auth_helpers import CSRF

        self.url, self.http = url, requests.Session()
        token = CSRF.search(self.http.get(f"{url}/signon", timeout=30).text)
        assert token, "no CSRF token on /signon"
        form = {"csrf_token": token.group(1), "card": card, "pin": pin, "workstation": "AMU"}
        answer = self.http.post(f"{url}/signon", data=form, allow_redirects=False, timeout=30)
        assert answer.status_code == 303, answer.text[:300]
        token = CSRF.search(self.http.get(f"{url}/wards/AMU", timeout=30).text)
        assert token, "no CSRF token on /wards/AMU"
        self.csrf = {"X-CSRFToken": token.group(1)}

    def board(self) -> dict[str, Any]:
        answer = self.http.get(f"{self.url}/api/v1/wards/AMU/board", timeout=30)
        answer.raise_for_status()
        return answer.json()

    def observe(self, stay: int, pulse: int) -> None:
        body = {
            "taken_at": datetime.now(UTC).isoformat(),
            "respiration_rate": 16, "spo2": 97, "on_oxygen": False, "systolic_bp": 120,
            "pulse": pulse, "consciousness": "A", "temperature": 36.8,
        }  # fmt: skip
        answer = self.http.post(
            f"{self.url}/api/v1/stays/{stay}/observations", json=body, headers=self.csrf, timeout=30
        )
        assert answer.status_code == 201, answer.text[:300]


@pytest.fixture
def nurse_card(site) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    from tests.auth_helpers import StaffMaker

    settings = Settings.from_env(site.env, board_push_enabled=False, scheduler_enabled=False)
    services = bootstrap(settings)
    try:
        user = StaffMaker(services)("nurse")
        return user.card, user.pin
    finally:
        services.stop()


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_web_and_mllp_processes_taking_turns_cost_no_board_a_resync(site, nurse_token, nurse_card):
    from integration.mllp.client import MllpClient
    from tests.split_site import Board

    (_w1, url1), (_w2, url2) = site.web(), site.web()
    _m, port = site.mllp()
    boards = [Board(url1, nurse_token), Board(url2, nurse_token)]
    nurses = [WebNurse(url1, *nurse_card), WebNurse(url2, *nurse_card)]

    def everywhere(version: int) -> None:
        for board in boards:
            if board.snapshot is None or board.snapshot["version"] < version:
                board.wait_for(lambda snap: snap["version"] >= version, timeout=30)

    try:
        with MllpClient("127.0.0.1", port) as mllp:
            for i in range(6):
                # HL7 through the MLLP process, then a web action on each web process.
                assert ack_code(mllp.send(admit(i))) == "AA"
                if i >= 3:
                    assert ack_code(mllp.send(discharge(i - 3))) == "AA"
                everywhere(nurses[0].board()["version"])
                stays = [int(p["key"][2:]) for p in nurses[0].board()["patients"]]
                for n, nurse in enumerate(nurses):
                    nurse.observe(stays[-1], pulse=70 + 10 * i + n)
                    everywhere(nurse.board()["version"])
        fresh = nurses[1].board()
        everywhere(fresh["version"])
        for board in boards:
            time.sleep(0.5)
            while not board.received.empty():
                board.next()
            assert board.follower.resyncs == 0
            got = dict(board.snapshot or {})
            got.pop("generated_at"), fresh.pop("generated_at", None)
            assert got == fresh
    finally:
        for board in boards:
            board.close()


def test_a_process_that_pushes_nowhere_leaves_the_shared_chain_alone(settings, redis_url):
    shared = settings.replace(redis_url=redis_url)
    silent = bootstrap(shared)  # a command-line tool: no emitter
    talking = bootstrap(shared, emit=Screen().emitter("full"))
    try:
        assert not silent.publisher.chain_shared
        assert talking.publisher.chain_shared
    finally:
        silent.stop()
        talking.stop()
