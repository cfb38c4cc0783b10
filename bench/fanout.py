"""Live orders' fan-out (issue 18): the latency from a backend's publish to each watcher's frame, and
what one published event costs, at 1, 10 and 1,000 watchers of one order.

    python -m bench.fanout [--watchers 1,10,1000] [--events 10]

For each level, local mode (in this process, DynamoDB metered as bench/cost.py meters it) gets a
live order with its first event; that many WebSocket connections of its owner watch it; then the
backend publishes `--events` more, one at a time, each once every watcher has the previous one.
Latency is from just before PutEvents to a frame's arrival, over every (event, watcher). Per
published event: EventBridge's event, the publish function's invocation and billed duration, the
DynamoDB request units of the publish path (the append, the fan-out's query, the lease's release),
and one WebSocket message per watcher, priced at AWS list prices (bench/prices.py).

Local mode is not AWS: PutEvents, the rule and the invocation are in-process calls here, where
EventBridge adds its own delivery latency (typically tens to a few hundred ms), and Lambda's
durations are measured against moto on loopback. Results: bench/results/fanout.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import websockets

from bench import prices
from bench.cost import CostRun, _label, metered_local_mode
from bench.latency import _raise_open_file_limit, percentiles_ms
from local.cli.run import LocalMode
from local.cli.tokens import with_token
from local.template.synth import ROOT
from publish.backend import Backend
from publish.statuses import status_change

RESULTS = ROOT / "bench" / "results"
TYPES = ["order_processing", "order_sent", "order_delayed", "order_sent", "order_delivered"]
HANDSHAKES_AT_ONCE = 50


class Watcher:
    """One connection watching the order: when each seq arrived (monotonic seconds)."""

    def __init__(self) -> None:
        self.arrivals: dict[int, float] = {}
        self.changed = asyncio.Event()
        self.connection: Any = None

    async def open(self, url: str, order_id: str, handshakes: asyncio.Semaphore) -> None:
        async with handshakes:
            self.connection = await websockets.connect(url, open_timeout=60, max_queue=None)
        await self.connection.send(json.dumps({"type": "track_order", "orderId": order_id}))
        asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            async for message in self.connection:
                frame = json.loads(message)
                if "seq" in frame:
                    self.arrivals.setdefault(frame["seq"], time.monotonic())
                    self.changed.set()
        except websockets.ConnectionClosed:
            pass

    async def has(self, seq: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while seq not in self.arrivals:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), max(0.01, deadline - time.monotonic()))


async def _level(mode: LocalMode, run: CostRun, backend: Backend, watchers: int, events: int) -> dict[str, Any]:
    order_id = f"LV-FAN-{watchers}"
    await asyncio.to_thread(backend.publish_stored, status_change(order_id, "order_created"), 30)
    url = with_token(mode.gateway.url, mode.dev_token)
    handshakes = asyncio.Semaphore(HANDSHAKES_AT_ONCE)
    crowd = [Watcher() for _ in range(watchers)]
    await asyncio.gather(*(w.open(url, order_id, handshakes) for w in crowd))
    await asyncio.gather(*(w.has(1, 120) for w in crowd))
    publish_id = next(key for key in mode.runtime.functions if "Publish" in key)
    before = mode.runtime.usage.get(publish_id)
    invocations, billed_ms = (before.invocations, before.billed_ms) if before else (0, 0)
    run.meter.reset()
    latencies: list[float] = []
    spreads: list[float] = []
    for seq in range(2, events + 2):
        published = time.monotonic()
        await asyncio.to_thread(backend.publish, status_change(order_id, TYPES[(seq - 2) % len(TYPES)], key=f"{order_id}#{seq}"))
        await asyncio.gather(*(w.has(seq, 120) for w in crowd))
        arrivals = [w.arrivals[seq] for w in crowd]
        latencies.extend(at - published for at in arrivals)
        spreads.append(max(arrivals) - min(arrivals))
        await asyncio.sleep(0.3)
    usage = mode.runtime.usage[publish_id]
    per_event = {
        "publish_invocations": (usage.invocations - invocations) / events,
        "publish_billed_ms": (usage.billed_ms - billed_ms) / events,
        "dynamodb_write_units": run.meter.write_units / events,
        "dynamodb_read_units": run.meter.read_units / events,
        "dynamodb_calls": {k: v / events for k, v in sorted(run.meter.calls.items())},
        "messages": watchers,
    }
    for watcher in crowd:
        await watcher.connection.close()
    await asyncio.sleep(1)  # their $disconnect
    memory_gb = mode.runtime.spec(publish_id).memory_mb / 1024
    return {
        "watchers": watchers,
        "events": events,
        "latency_ms": percentiles_ms(latencies),
        "spread_ms": percentiles_ms(spreads),
        "per_event": per_event,
        "per_million_events": _price(per_event, memory_gb),
        "function": _label(publish_id),
    }


def _price(per_event: dict[str, Any], memory_gb: float) -> dict[str, float]:
    """Dollars per million published events, by service."""
    costs = {
        "eventbridge": prices.EVENTBRIDGE_PER_EVENT,
        "lambda": per_event["publish_invocations"] * prices.LAMBDA_PER_REQUEST
        + per_event["publish_billed_ms"] / 1000 * memory_gb * prices.LAMBDA_ARM64_PER_GB_SECOND,
        "dynamodb": per_event["dynamodb_write_units"] * prices.DYNAMODB_PER_WRITE_UNIT
        + per_event["dynamodb_read_units"] * prices.DYNAMODB_PER_READ_UNIT,
        "api_gateway_messages": per_event["messages"] * prices.API_GATEWAY_PER_MESSAGE,
    }
    costs["total"] = sum(costs.values())
    return {k: round(v * 1e6, 2) for k, v in costs.items()}


async def _main(levels: list[int], events: int) -> dict[str, Any]:
    async with metered_local_mode(max_connections_per_customer=100_000, idle_timeout=3600) as run:
        mode = run.mode
        backend = Backend.of_local_mode(mode.aws.endpoint, mode.stack)
        await _level(mode, run, backend, 2, 3)  # warm the publish function's workers
        rows = [await _level(mode, run, backend, watchers, events) for watchers in levels]
    return {"prices": f"AWS list prices, us-east-1, as of {prices.PRICES_DATE}", "levels": rows}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout")
    parser.add_argument("--watchers", default="1,10,1000", help="watchers of one order, per level")
    parser.add_argument("--events", type=int, default=10, help="events published per level")
    args = parser.parse_args(argv)
    _raise_open_file_limit()
    report = asyncio.run(_main([int(n) for n in args.watchers.split(",")], args.events))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fanout.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"$ per million published events ({report['prices']})")
    for row in report["levels"]:
        latency, cost = row["latency_ms"], row["per_million_events"]
        print(
            f"{row['watchers']:>6} watchers: latency p50 {latency['p50']} / p99 {latency['p99']} ms, "
            f"spread p50 {row['spread_ms']['p50']} ms; ${cost['total']} per million "
            f"(EventBridge {cost['eventbridge']}, Lambda {cost['lambda']}, DynamoDB {cost['dynamodb']}, "
            f"messages {cost['api_gateway_messages']}); {row['per_event']['dynamodb_write_units']} WRU, "
            f"{row['per_event']['dynamodb_read_units']} RRU, {row['per_event']['publish_billed_ms']:.0f} ms billed"
        )
    return report


if __name__ == "__main__":
    main()
