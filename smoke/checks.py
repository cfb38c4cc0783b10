"""The checks that need only the endpoint and tokens: each connects as a customer's client would and
says PASS, FAIL or SKIP, with timings. Times are this machine's: when a frame arrived, never when the
server says it sent it. docs/operations.md says what each check proves and what it does not.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from typing import Any

import websockets

from smoke.results import Options, Result, skip, verdict
from smoke.session import OPEN_TIMEOUT, Session, events, gap_problems, sequence_problems
from smoke.target import Target, seed_orders, with_token

MAX_FALSE_FAILURE = 1e-4  # the random-gaps check fails an honest service less often than this
MIN_GAPS = 8


def cycle_seconds(target: Target, options: Options, events_after_first: int) -> float:
    """How long the rest of an order may take: each wait at its longest, with slack."""
    return events_after_first * (target.max_delay + options.slack) + options.slack


def gaps_needed(target: Target) -> tuple[int, float]:
    """(gaps to collect, the odds that an honest service's gaps are all equal): States.MathRandom draws
    whole seconds uniformly from K values, so N gaps are all equal with probability K ** (1 - N)."""
    values = target.max_delay - target.min_delay + 1
    if values < 2:
        return 0, 1.0
    needed = max(MIN_GAPS, 1 + math.ceil(math.log(1 / MAX_FALSE_FAILURE) / math.log(values)))
    return needed, float(values) ** (1 - needed)


# -- simulated orders -------------------------------------------------------------------------


async def track(target: Target, session: Session, order_id: str, options: Options) -> tuple[float, list[Any]]:
    """Track `order_id` to its end on `session`: (when track_order was sent, its event arrivals)."""
    expected = len(seed_orders()[order_id])
    sent = await session.send({"type": "track_order", "orderId": order_id})

    def ended(arrivals: list[Any]) -> bool:
        return len([a for a in events(arrivals, sent) if a.frame.get("orderId") == order_id]) >= expected

    await session.until(ended, cycle_seconds(target, options, expected - 1) + options.first_event_limit)
    return sent, events(session.arrivals, sent)


async def complete_random_and_gaps(target: Target, options: Options) -> list[Result]:
    """ZX-1001 to its end on as many connections at once as the random-gaps check needs: its events
    complete (`complete`), every gap by arrival within the delays and `at` consistent (`gaps`), and
    the gaps not all the same (`random`)."""
    started = time.monotonic()
    needed, odds = gaps_needed(target)
    trackings = max(1, math.ceil(needed / 3))  # ZX-1001 has three waits
    sessions = [await Session.open(target.url()) for _ in range(trackings)]
    try:
        tracked = await asyncio.gather(*(track(target, s, "ZX-1001", options) for s in sessions))
    finally:
        await asyncio.gather(*(s.close() for s in sessions))
    expected = seed_orders()["ZX-1001"]
    complete, gap_trouble, all_gaps = [], [], []
    for index, (_, arrivals) in enumerate(tracked):
        complete += [f"connection {index + 1}: {p}" for p in sequence_problems(arrivals, "ZX-1001", expected)]
        gaps, problems = gap_problems(arrivals, target.min_delay, target.max_delay, options.slack)
        all_gaps += gaps
        gap_trouble += [f"connection {index + 1}: {p}" for p in problems]
    spread = (
        f"{min(all_gaps, default=0):.2f}/{statistics.median(all_gaps) if all_gaps else 0:.2f}/{max(all_gaps, default=0):.2f} s"
    )
    results = [
        verdict("complete", started, complete, f"ZX-1001 to its end on {trackings} connection(s)"),
        verdict(
            "gaps",
            started,
            gap_trouble,
            f"{len(all_gaps)} gaps by arrival within {target.min_delay - 0.5:g}-{target.max_delay + options.slack:g} s "
            f"(min/median/max {spread}), `at` consistent",
            {"gaps_s": all_gaps},
        ),
    ]
    if needed == 0:
        results.append(skip("random", f"the delays are fixed ({target.min_delay} s = {target.max_delay} s): nothing to draw"))
    else:
        same = bool(all_gaps) and max(all_gaps) - min(all_gaps) < 0.1
        problems = [f"all {len(all_gaps)} gaps within 0.1 s of each other ({spread}): not drawn at random"] if same else []
        if len(all_gaps) < needed:
            problems.append(f"{len(all_gaps)} gaps, {needed} needed")
        results.append(
            verdict(
                "random",
                started,
                problems,
                f"{len(all_gaps)} gaps, min/median/max {spread}; an honest service fails this once in {round(1 / odds):,} runs",
                {"gaps_s": all_gaps, "false_failure_odds": odds},
            )
        )
    return results


async def switch_and_unknown(target: Target, options: Options) -> list[Result]:
    """On one warm connection: track ZX-1001, switch to ZX-1003 after its first event: ZX-1003 arrives
    in time (`first-event`) and to its end, and no frame of ZX-1001 follows ZX-1003's first (`switch`);
    then an unknown order gets order_not_found and nothing else (`unknown-order`)."""
    started = time.monotonic()
    session = await Session.open(target.url())
    try:
        await session.send({"type": "ping"})
        await session.until(lambda a: any(x.frame.get("type") == "pong" for x in a), OPEN_TIMEOUT)
        old_sent = await session.send({"type": "track_order", "orderId": "ZX-1001"})
        await session.until(lambda a: bool(events(a, old_sent)), OPEN_TIMEOUT)
        old = events(session.arrivals, old_sent)
        new_sent, new = await track(target, session, "ZX-1003", options)
        new = [a for a in new if a.frame.get("orderId") == "ZX-1003"]
        await session.listen(target.max_delay + options.slack)  # anything of ZX-1001 still to come
        after = events(session.arrivals, new_sent)
        unknown_sent = await session.send({"type": "track_order", "orderId": "ZX-0000"})
        await session.until(lambda a: any(x.frame.get("type") == "error" for x in a if x.at >= unknown_sent), options.slack + 3)
        await session.listen(0.5)
        unknown = [a.frame for a in session.arrivals if a.at >= unknown_sent]
    finally:
        await session.close()
    first = round(new[0].at - new_sent, 3) if new else None
    first_problems = (
        []
        if first is not None and first <= options.first_event_limit
        else [
            f"the first event of ZX-1003 came {first} s after track_order, more than {options.first_event_limit:g} s"
            if first is not None
            else "ZX-1003 sent no event"
        ]
    )
    switch_problems = [] if old else ["ZX-1001 sent no first event"]
    stale = [a for a in after if a.frame.get("orderId") == "ZX-1001" and new and a.at >= new[0].at]
    if stale:
        switch_problems.append(
            f"{len(stale)} frame(s) of ZX-1001 after the switch's first frame: seq {[a.frame.get('seq') for a in stale]}"
        )
    switch_problems += sequence_problems([a for a in after if a.at < unknown_sent], "ZX-1003", seed_orders()["ZX-1003"])
    unknown_problems = []
    errors = [f for f in unknown if f.get("type") == "error"]
    if not errors or errors[0].get("code") != "order_not_found" or errors[0].get("orderId") != "ZX-0000":
        unknown_problems.append(f"answered {errors[0] if errors else 'nothing'}")
    if len(unknown) != 1:
        unknown_problems.append(f"{len(unknown)} frames for one unknown order")
    return [
        verdict(
            "first-event",
            started,
            first_problems,
            f"{first} s after track_order (limit {options.first_event_limit:g} s)",
            {"first_event_s": first},
        ),
        verdict(
            "switch", started, switch_problems, "ZX-1003 complete after the switch; nothing of ZX-1001 after its first frame"
        ),
        verdict("unknown-order", started, unknown_problems, "order_not_found, and nothing else"),
    ]


async def resume(target: Target, options: Options) -> list[Result]:
    """Close mid-tracking, reconnect, resume after seq 1: the rest arrives once each, in order, of the
    same tracking, and nothing more."""
    started = time.monotonic()
    order_id = "ZX-1002"
    expected = seed_orders()[order_id]
    first = await Session.open(target.url())
    try:
        sent = await first.send({"type": "track_order", "orderId": order_id})
        await first.until(lambda a: bool(events(a, sent)), OPEN_TIMEOUT)
    finally:
        await first.close()
    before = events(first.arrivals, sent)
    problems = sequence_problems(before, order_id, None)
    if not before:
        return [verdict("resume", started, ["no first event"], "")]
    tracking_id = before[0].frame["trackingId"]
    second = await Session.open(target.url())
    try:
        resumed = await second.send(
            {"type": "track_order", "orderId": order_id, "resume": {"trackingId": tracking_id, "afterSeq": 1}}
        )
        await second.until(
            lambda a: len(events(a, resumed)) >= len(expected) - 1, cycle_seconds(target, options, len(expected) - 1)
        )
        await second.listen(options.slack)  # a repeat would come now
    finally:
        await second.close()
    rest = events(second.arrivals, resumed)
    problems += sequence_problems(rest, order_id, expected, after_seq=1)
    if len(rest) != len(expected) - 1:
        problems.append(f"{len(rest)} events after the resume, {len(expected) - 1} expected")
    if {a.frame.get("trackingId") for a in rest} - {tracking_id}:
        problems.append("a resumed event of another tracking")
    replayed = round(rest[0].at - resumed, 3) if rest else None
    return [
        verdict(
            "resume",
            started,
            problems,
            f"after seq 1, seq {[a.frame.get('seq') for a in rest]} of the same tracking",
            {"first_replayed_s": replayed},
        )
    ]


# -- refusals ---------------------------------------------------------------------------------


async def handshake_status(url: str) -> int:
    try:
        connection = await websockets.connect(url, open_timeout=OPEN_TIMEOUT)
    except websockets.InvalidStatus as refused:
        return int(refused.response.status_code)
    await connection.close()
    return 101


async def refusals(target: Target, options: Options) -> list[Result]:
    """No token, a wrongly signed one and an expired one are refused at the handshake."""
    started = time.monotonic()
    cases: list[tuple[str, str | None, tuple[int, ...]]] = [
        ("refused-no-token", target.ws_url, (401,)),
        ("refused-wrong-signature", with_token(target.ws_url, target.wrongly_signed_token()), (401, 403)),
        ("refused-expired", with_token(target.ws_url, target.expired_token()) if target.mints else None, (401, 403)),
    ]
    results = []
    for name, url, allowed in cases:
        if url is None:
            results.append(skip(name, "needs the stack's signing key (--url with --token has one token only)"))
            continue
        status = await handshake_status(url)
        problems = [] if status in allowed else [f"HTTP {status}, expected {' or '.join(map(str, allowed))}"]
        results.append(verdict(name, started, problems, f"HTTP {status}"))
    return results
