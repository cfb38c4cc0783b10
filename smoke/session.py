"""One WebSocket connection of the smoke check, as a customer's client: it sends frames and keeps every
frame that arrives with the time it arrived (this machine's clock, never the server's word), and what
the protocol promises about a tracking's frames, checked from them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

OPEN_TIMEOUT = 20


@dataclass(frozen=True)
class Arrival:
    at: float  # time.monotonic() when the frame arrived
    frame: dict[str, Any]


class Session:
    """One WebSocket connection: sends frames, keeps what arrives with its arrival time."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.arrivals: list[Arrival] = []

    @classmethod
    async def open(cls, url: str) -> Session:
        return cls(await websockets.connect(url, open_timeout=OPEN_TIMEOUT))

    async def send(self, frame: dict[str, Any]) -> float:
        """Send `frame`; returns when it was sent (time.monotonic())."""
        await self.connection.send(json.dumps(frame))
        return time.monotonic()

    async def until(self, done: Callable[[list[Arrival]], bool], timeout: float) -> list[Arrival]:
        """Read until done(arrivals) holds or `timeout` passes; every arrival so far either way."""
        deadline = time.monotonic() + timeout
        while not done(self.arrivals):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                message = await asyncio.wait_for(self.connection.recv(), left)
            except (TimeoutError, websockets.ConnectionClosed):
                break
            try:
                frame = json.loads(message)
            except ValueError:
                frame = {"unparsed": str(message)[:200]}
            self.arrivals.append(Arrival(time.monotonic(), frame if isinstance(frame, dict) else {"unparsed": frame}))
        return list(self.arrivals)

    async def listen(self, seconds: float) -> list[Arrival]:
        """Whatever arrives in the next `seconds`."""
        return await self.until(lambda _: False, seconds)

    async def close(self) -> None:
        await self.connection.close()


def events(arrivals: list[Arrival], since: float = 0.0) -> list[Arrival]:
    """The event frames (those with a seq) that arrived at or after `since`."""
    return [a for a in arrivals if "seq" in a.frame and a.at >= since]


def answered_since(sent: float) -> Callable[[list[Arrival]], bool]:
    """A condition for Session.until: an event or an error arrived after `sent`."""
    return lambda arrivals: any(a.at >= sent and ("seq" in a.frame or a.frame.get("type") == "error") for a in arrivals)


def at_least_events(count: int) -> Callable[[list[Arrival]], bool]:
    """A condition for Session.until: `count` event frames have arrived."""
    return lambda arrivals: len(events(arrivals)) >= count


def stamp(frame: dict[str, Any]) -> float | None:
    """The frame's `at` as epoch seconds, or None when it is not an ISO 8601 UTC time."""
    try:
        return datetime.strptime(str(frame.get("at")), "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
    except ValueError:
        return None


def sequence_problems(
    tracked: list[Arrival], order_id: str, expected: list[dict[str, str]] | None, after_seq: int = 0
) -> list[str]:
    """What breaks the protocol's promise in `tracked`, the event frames a connection got while it
    tracked `order_id`: each event exactly once, in order, seq after_seq+1.. without a gap, of one
    tracking, about that order only; with `expected`, the order's events themselves."""
    problems = []
    foreign = [a.frame for a in tracked if a.frame.get("orderId") != order_id]
    if foreign:
        problems.append(f"{len(foreign)} frame(s) of another order ({foreign[0].get('orderId')!r}) while tracking {order_id}")
    own = [a.frame for a in tracked if a.frame.get("orderId") == order_id]
    ids = [f.get("eventId") for f in own]
    if len(set(ids)) != len(ids):
        problems.append(f"an eventId arrived twice: {sorted({str(i) for i in ids if ids.count(i) > 1})[:3]}")
    seqs = [f.get("seq") for f in own]
    if seqs != list(range(after_seq + 1, after_seq + 1 + len(seqs))):
        problems.append(f"seq {seqs}, expected {after_seq + 1}..{after_seq + len(seqs)} in order, each once")
    if len({f.get("trackingId") for f in own}) > 1:
        problems.append("frames of more than one tracking")
    if expected is not None:
        got = [(f.get("type"), f.get("label"), f.get("status")) for f in own]
        want = [(e["type"], e["label"], e["status"]) for e in expected[after_seq:]]
        if got != want:
            problems.append(f"got {[g[1] for g in got]}, expected {[w[1] for w in want]}")
    return problems


def gap_problems(tracked: list[Arrival], min_delay: int, max_delay: int, slack: float) -> tuple[list[float], list[str]]:
    """(the gaps between consecutive events by arrival, what is wrong with them): each within
    [min_delay - 0.5, max_delay + slack]; `at` increasing, and moving as the arrivals move (within slack)."""
    gaps = [round(b.at - a.at, 3) for a, b in zip(tracked, tracked[1:], strict=False)]
    problems = []
    low, high = min_delay - 0.5, max_delay + slack
    outside = [g for g in gaps if not low <= g <= high]
    if outside:
        problems.append(f"gaps by arrival {outside} s outside {low:g}-{high:g} s")
    stamps = [stamp(a.frame) for a in tracked]
    if any(s is None for s in stamps):
        problems.append("an event without a valid `at`")
        return gaps, problems
    if any(b <= a for a, b in zip(stamps, stamps[1:], strict=False)):  # type: ignore[operator]
        problems.append("`at` does not increase from one event to the next")
    first_at, first_arrival = stamps[0], tracked[0].at
    drift = [round((a.at - first_arrival) - (s - first_at), 3) for a, s in zip(tracked, stamps, strict=True)]  # type: ignore[operator]
    if any(abs(d) > slack for d in drift):
        problems.append(f"`at` and arrival disagree by {max(drift, key=abs)} s (more than {slack:g} s)")
    return gaps, problems
