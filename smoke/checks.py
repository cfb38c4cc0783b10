"""The smoke checks: each one connects as a customer would and says pass or fail, with timings."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from smoke.target import Target, seed_orders

OPEN_TIMEOUT = 20
SLACK_SECONDS = 15  # on top of the stack's own delays, for cold starts and the network


@dataclass
class Result:
    name: str
    passed: bool
    seconds: float
    detail: str = ""
    timings: dict[str, Any] = field(default_factory=dict)


class Session:
    """One WebSocket connection: sends frames, keeps what arrives with its arrival time."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.frames: list[tuple[float, dict[str, Any]]] = []

    @classmethod
    async def open(cls, url: str) -> Session:
        return cls(await websockets.connect(url, open_timeout=OPEN_TIMEOUT))

    async def send(self, frame: dict[str, Any]) -> float:
        await self.connection.send(json.dumps(frame))
        return time.monotonic()

    async def until(self, done: Callable[[list[dict[str, Any]]], bool], timeout: float) -> list[dict[str, Any]]:
        """Read until done(frames) is true; the frames so far either way."""
        deadline = time.monotonic() + timeout
        while not done([f for _, f in self.frames]):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                message = await asyncio.wait_for(self.connection.recv(), left)
            except (TimeoutError, websockets.ConnectionClosed):
                break
            self.frames.append((time.monotonic(), json.loads(message)))
        return [f for _, f in self.frames]

    async def close(self) -> None:
        await self.connection.close()


def _events(frames: list[dict[str, Any]], order_id: str) -> list[dict[str, Any]]:
    return [f for f in frames if "seq" in f and f.get("orderId") == order_id]


def _stamp(frame: dict[str, Any]) -> float:
    return datetime.strptime(frame["at"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def _cycle_timeout(target: Target, events: int) -> float:
    return (events - 1) * target.max_delay + SLACK_SECONDS


async def track_to_the_end(target: Target, session: Session, order_id: str) -> Result:
    """The order's events, complete and in order; the first at once, each next within the delays."""
    expected = seed_orders()[order_id]
    started = time.monotonic()
    seen_before = len(session.frames)
    sent_at = await session.send({"type": "track_order", "orderId": order_id})
    frames = await session.until(
        lambda f: len(_events(f[seen_before:], order_id)) >= len(expected), _cycle_timeout(target, len(expected))
    )
    got = _events(frames[seen_before:], order_id)
    arrivals = [at for at, f in session.frames[seen_before:] if "seq" in f and f.get("orderId") == order_id]
    name = f"track {order_id} to its end"
    problems = []
    if [(f["type"], f["label"], f["status"]) for f in got] != [(e["type"], e["label"], e["status"]) for e in expected]:
        problems.append(f"got {[f.get('label') for f in got]}, expected {[e['label'] for e in expected]}")
    if [f.get("seq") for f in got] != list(range(1, len(got) + 1)) or len({f.get("trackingId") for f in got}) > 1:
        problems.append("seq not 1..n of one tracking")
    gaps = [round(b - a, 2) for a, b in zip(map(_stamp, got), map(_stamp, got[1:]), strict=False)] if got else []
    # Lateness: how far past the stack's longest delay an event was emitted (the delay drawn is not
    # visible from outside, so this is the part of any lateness that a client can prove).
    lateness = [round(max(0.0, gap - target.max_delay), 2) for gap in gaps]
    if any(gap < target.min_delay - 0.5 for gap in gaps) or any(late > 1.0 for late in lateness):
        problems.append(f"gaps {gaps} s outside {target.min_delay}-{target.max_delay} s")
    first = round(arrivals[0] - sent_at, 3) if arrivals else None
    timings = {"first_event_s": first, "gaps_s": gaps, "lateness_s": lateness}
    detail = f"first event {first} s after track_order; gaps {gaps} s; lateness beyond {target.max_delay} s: {lateness}"
    return Result(name, not problems, time.monotonic() - started, "; ".join(problems) or detail, timings)


async def unknown_order(target: Target, session: Session) -> Result:
    started = time.monotonic()
    seen_before = len(session.frames)
    await session.send({"type": "track_order", "orderId": "ZX-0000"})
    frames = await session.until(lambda f: any(x.get("type") == "error" for x in f[seen_before:]), SLACK_SECONDS)
    errors = [f for f in frames[seen_before:] if f.get("type") == "error"]
    ok = bool(errors) and errors[0].get("code") == "order_not_found" and errors[0].get("orderId") == "ZX-0000"
    detail = f"answered {errors[0] if errors else 'nothing'}"
    return Result("unknown order gets order_not_found", ok, time.monotonic() - started, detail)


async def bad_token_refused(target: Target) -> Result:
    started = time.monotonic()
    url = f"{target.ws_url}{'&' if '?' in target.ws_url else '?'}token={target.wrongly_signed_token()}"
    try:
        connection = await websockets.connect(url, open_timeout=OPEN_TIMEOUT)
    except websockets.InvalidStatus as refused:
        status = refused.response.status_code
        return Result("a wrongly signed token is refused", status in (401, 403), time.monotonic() - started, f"HTTP {status}")
    await connection.close()
    return Result("a wrongly signed token is refused", False, time.monotonic() - started, "the handshake was accepted")


async def resume_after_reconnect(target: Target) -> Result:
    """Close mid-tracking, reconnect, resume after seq 1: the rest arrives once each, in order."""
    order_id = "ZX-1002"
    expected = len(seed_orders()[order_id])
    started = time.monotonic()
    first = await Session.open(target.url())
    await first.send({"type": "track_order", "orderId": order_id})
    frames = await first.until(lambda f: len(_events(f, order_id)) >= 1, SLACK_SECONDS)
    await first.close()
    if not _events(frames, order_id):
        return Result("resume after a reconnect", False, time.monotonic() - started, "no first event")
    tracking_id = _events(frames, order_id)[0]["trackingId"]
    second = await Session.open(target.url())
    resumed_at = await second.send(
        {"type": "track_order", "orderId": order_id, "resume": {"trackingId": tracking_id, "afterSeq": 1}}
    )
    rest = await second.until(
        lambda f: {e["seq"] for e in _events(f, order_id)} >= set(range(2, expected + 1)), _cycle_timeout(target, expected)
    )
    await second.close()
    seqs = [f["seq"] for f in _events(rest, order_id)]
    ok = seqs == list(range(2, expected + 1)) and {f["trackingId"] for f in _events(rest, order_id)} == {tracking_id}
    detail = f"after seq 1, got seq {seqs} of tracking {tracking_id}"
    arrivals = [at for at, f in second.frames if "seq" in f]
    timings = {"first_replayed_s": round(arrivals[0] - resumed_at, 3) if arrivals else None}
    return Result("resume after a reconnect", ok, time.monotonic() - started, detail, timings)


async def run_all(target: Target) -> list[Result]:
    results: list[Result] = []
    started = time.monotonic()
    try:
        session = await Session.open(target.url())
    except Exception as error:  # any failure to connect is the check's answer
        return [Result("connect with a valid token", False, time.monotonic() - started, f"{type(error).__name__}: {error}")]
    results.append(Result("connect with a valid token", True, time.monotonic() - started))
    try:
        results.append(await track_to_the_end(target, session, "ZX-1003"))
        results.append(await track_to_the_end(target, session, "ZX-1001"))
        results.append(await unknown_order(target, session))
    finally:
        await session.close()
    results.append(await bad_token_refused(target))
    results.append(await resume_after_reconnect(target))
    return results
