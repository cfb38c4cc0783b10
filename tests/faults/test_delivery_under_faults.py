"""Issue 5's proof: 200 concurrent trackings against local mode while connections are killed and
resumed, orders switched, and DynamoDB, the management API and Lambda fail now and then. Every
tracking must end with its order's full sequence, seq 1..n, nothing twice, and no event of a
superseded tracking after the first frame answering the switch.

Issue 18's publishers run next to them: a quarter of the users watch live orders (several users
each), whose events a backend publishes on the stack's bus while all this goes on, now and then
publishing the same event twice (a retry, same idempotency key). Their watchers are held to the
same rules."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from dataclasses import dataclass, field

import pytest
import websockets

from local.cli.launcher import LocalModeProcess
from publish.backend import Backend
from publish.statuses import status_change
from tests.browser.conftest import ARTIFACTS
from tests.support.aio import run

SEED_LENGTHS = {"ZX-1001": 4, "ZX-1002": 4, "ZX-1003": 2}
LIVE_ORDERS = [f"LV-F{n:03d}" for n in range(12)]
LIVE_TYPES = ["order_created", "order_processing", "order_sent", "order_delivered"]
LENGTHS = {**SEED_LENGTHS, **dict.fromkeys(LIVE_ORDERS, len(LIVE_TYPES))}
TRACKINGS = int(os.environ.get("FAULT_TRACKINGS", "200"))
LIVE_SHARE = 0.25  # of the users, the ones that start on a live order
REPUBLISH = 0.3  # of the publishes, the ones a backend sends again (same idempotency key)
FAULTS = {"dynamodb": float(os.environ.get("FAULT_P", "0.03")), "management": 0.05, "lambda_retry": 0.05, "seed": 7}
DEADLINE_SECONDS = 240


@pytest.fixture(scope="module")
def faulty(cdk_out):
    process = LocalModeProcess(
        "--min-delay", "0", "--max-delay", "1", "--workers", "4", "--max-connections-per-customer", "1000"
    ).start()
    process.faults(FAULTS)
    yield process
    process.faults(dict.fromkeys(("dynamodb", "management", "lambda_retry"), 0))
    process.stop()


@dataclass
class User:
    """One person's client: the protocol's client-side rules, counting what would have gone wrong."""

    order: str
    events: dict[int, dict] = field(default_factory=dict)
    tracking_id: str | None = None
    superseded: set[str] = field(default_factory=set)
    switch_answered: bool = True
    stale: int = 0
    duplicates: int = 0
    kills: int = 0
    switches: int = 0
    retries: int = 0
    history: list[str] = field(default_factory=list)  # what happened, to explain a failure

    def note(self, text: str) -> None:
        self.history.append(f"{time.monotonic():.3f} {text}")

    @property
    def contiguous(self) -> int:
        n = 0
        while n + 1 in self.events:
            n += 1
        return n

    @property
    def complete(self) -> bool:
        return self.contiguous == LENGTHS[self.order] and len(self.events) == LENGTHS[self.order]

    def request(self) -> dict:
        if self.tracking_id:
            return {
                "type": "track_order",
                "orderId": self.order,
                "resume": {"trackingId": self.tracking_id, "afterSeq": self.contiguous},
            }
        return {"type": "track_order", "orderId": self.order}

    def switch(self, order: str) -> dict:
        if self.tracking_id:
            self.superseded.add(self.tracking_id)
        self.order, self.tracking_id, self.events, self.switch_answered = order, None, {}, False
        self.switches += 1
        return self.request()

    def take(self, frame: dict, on_new_connection: bool) -> bool:
        """Returns True when the last request must be sent again (an `internal` error)."""
        if frame.get("type") == "error":
            assert frame.get("code") == "internal", frame  # seed orders exist; frames are valid
            if frame.get("orderId") not in (None, self.order):
                self.note(f"internal error of an earlier request ({frame['orderId']}): nothing to resend")
                return False
            return True
        if "seq" not in frame:
            return False
        tracking = frame["trackingId"]
        self.note(f"recv {frame['orderId']} {tracking[:6]} seq={frame['seq']}")
        if self.tracking_id is None and not self.switch_answered and frame["orderId"] != self.order:
            return False  # in flight before the first frame answering the switch: allowed, dropped
        if tracking in self.superseded:
            if self.switch_answered or on_new_connection:
                self.stale += 1
                self.note("STALE: superseded tracking")
            return False
        if frame["orderId"] != self.order:
            self.stale += 1  # another order's event after the switch was answered
            self.note("STALE: another order")
            return False
        if tracking != self.tracking_id:
            # A tracking of this order not seen before answers a later request (protocol: which tracking
            # a client is tracking now): it replaces the current one, which may not come back.
            if self.tracking_id is not None:
                self.note(f"newer tracking {tracking[:6]} replaces {self.tracking_id[:6]}")
                self.superseded.add(self.tracking_id)
                self.events = {}
            self.tracking_id, self.switch_answered = tracking, True
        if frame["seq"] in self.events:
            assert self.events[frame["seq"]]["eventId"] == frame["eventId"]
            self.duplicates += 1
            return False
        self.events[frame["seq"]] = frame
        return False


async def _connect(url: str, rng: random.Random):
    for attempt in range(20):
        try:
            return await websockets.connect(url, open_timeout=20)
        except (websockets.InvalidStatus, OSError, TimeoutError):  # $connect can fail under faults
            await asyncio.sleep(min(2.0, 0.1 * 2**attempt) * rng.random())
    raise AssertionError("could not connect")


async def _session(
    user: User, url: str, rng: random.Random, first_connection: bool, *, kill_after: float | None, deadline: float
) -> bool:
    """One connection's life; returns True if it was killed before the tracking completed."""
    connection = await _connect(url, rng)
    user.note(f"connected; send {user.request()}")
    await connection.send(json.dumps(user.request()))
    switch_at = rng.uniform(0.2, 2.0) if first_connection and rng.random() < 0.3 else None
    started = time.monotonic()
    try:
        while not user.complete and time.monotonic() < deadline:
            now = time.monotonic() - started
            timeouts = [t - now for t in (switch_at, kill_after) if t is not None]
            try:
                message = await asyncio.wait_for(connection.recv(), max(0.01, min(timeouts)) if timeouts else 5)
            except TimeoutError:
                now = time.monotonic() - started
                if switch_at is not None and now >= switch_at:
                    switch_at = None
                    choices = [o for o in SEED_LENGTHS if o != user.order] + rng.sample(LIVE_ORDERS, 2)
                    request = user.switch(rng.choice([o for o in choices if o != user.order]))
                    user.note(f"switch: send {request}")
                    await connection.send(json.dumps(request))
                elif kill_after is not None and now >= kill_after:
                    user.kills += 1
                    user.note("kill")
                    if rng.random() < 0.5:
                        connection.transport.abort()  # the network drops: no close frame
                    else:
                        await connection.close()
                    return True
                continue
            if user.take(json.loads(message), on_new_connection=not first_connection):
                user.note(f"internal error; resend {user.request()}")
                user.retries += 1
                await asyncio.sleep(0.2)
                await connection.send(json.dumps(user.request()))
    except websockets.ConnectionClosed:
        return True
    await connection.close()
    return False


async def _user(index: int, url: str) -> User:
    rng = random.Random(index)
    user = User(order=rng.choice(LIVE_ORDERS if rng.random() < LIVE_SHARE else sorted(SEED_LENGTHS)))
    first = True
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not user.complete and time.monotonic() < deadline:
        kill_after = rng.uniform(0.1, 3.0) if rng.random() < (0.5 if first else 0.2) else None
        if not await _session(user, url, rng, first, kill_after=kill_after, deadline=deadline):
            break
        first = False
        await asyncio.sleep(rng.uniform(0.05, 1.0))  # the client's reconnect pause
    return user


async def publish_order(backend: Backend, order_id: str, rng: random.Random) -> int:
    """A backend publishing events 2..n of a live order whose first event is out, at random moments,
    some twice (a retry: the same idempotency key); returns how many it sent twice."""
    repeated = 0
    for seq in range(2, len(LIVE_TYPES) + 1):
        detail = status_change(order_id, LIVE_TYPES[seq - 1], key=f"{order_id}#{seq}")
        await asyncio.sleep(rng.uniform(0.3, 2.5))
        await asyncio.to_thread(backend.publish, detail)
        if rng.random() < REPUBLISH:
            await asyncio.sleep(rng.uniform(0, 0.5))
            await asyncio.to_thread(backend.publish, detail)
            repeated += 1
    return repeated


def test_every_tracking_ends_complete_exactly_once_and_never_stale(faulty, stack):
    started = time.monotonic()
    backend = Backend.of_local_mode(faulty.aws_url, stack)
    for order_id in LIVE_ORDERS:  # a live order exists from its first publish: before anyone watches
        backend.publish_stored(status_change(order_id, LIVE_TYPES[0], key=f"{order_id}#1"), timeout=60)
    repeated: list[int] = []

    async def everyone() -> list[User]:
        rng = random.Random(18)
        publishing = [asyncio.create_task(publish_order(backend, o, rng)) for o in LIVE_ORDERS]
        users = await asyncio.gather(*(_user(i, faulty.ws_url) for i in range(TRACKINGS)))
        repeated.extend(await asyncio.gather(*publishing))
        return users

    users = run(everyone())
    report = faulty.faults()
    summary = {
        "trackings": len(users),
        "connections killed": sum(u.kills for u in users),
        "orders switched": sum(u.switches for u in users),
        "faults injected": report["injected"],
        "live watchers": sum(1 for u in users if u.order in LIVE_ORDERS),
        "publishes (repeated)": f"{backend.publishes} ({sum(repeated)})",
        "internal errors retried": sum(u.retries for u in users),
        "events expected": sum(LENGTHS[u.order] for u in users),
        "events delivered": sum(len(u.events) for u in users),
        "duplicates dropped": sum(u.duplicates for u in users),
        "stale received": sum(u.stale for u in users),
        "seconds": round(time.monotonic() - started, 1),
    }
    print("\ndelivery under faults:", json.dumps(summary, indent=2))
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "faults-local-mode.log").write_text("\n".join(faulty.lines))
    troubled = [u for u in users if not u.complete or u.stale]
    for user in troubled[:3]:
        print(f"\n--- {user.order} tracking {user.tracking_id} events {sorted(user.events)}\n" + "\n".join(user.history))
    assert [(u.order, u.tracking_id, sorted(u.events)) for u in users if not u.complete] == []
    assert summary["events delivered"] == summary["events expected"]
    assert summary["stale received"] == 0
    assert summary["connections killed"] > TRACKINGS // 4 and summary["orders switched"] > TRACKINGS // 10
    assert all(count > 0 for count in report["injected"].values()), report
    assert summary["live watchers"] > TRACKINGS // 8
    for user in users:
        assert [user.events[s]["seq"] for s in sorted(user.events)] == list(range(1, LENGTHS[user.order] + 1))
        assert len({e["eventId"] for e in user.events.values()}) == len(user.events)
