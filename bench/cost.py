"""Cost per million trackings (issue 7, part 2), measured in local mode and priced at AWS list prices.

    python -m bench.cost [--trackings 5]

For each seed order, local mode runs `--trackings` trackings with the stack's own delays (3–10 s),
each on its own connection that opens, tracks the order to its end and closes. Measured per tracking:
- Step Functions: state transitions (the `*StateEntered` events of each execution's history) and the
  execution's duration (start to stop, billed per started 100 ms);
- Lambda: invocations and billed duration of every function (the handler's own run time, rounded
  up to 1 ms), at each function's memory size;
- DynamoDB: read and write request units (bench/dynamodb_capacity.py);
- API Gateway: messages in both directions and connection minutes (each connection rounded up to
  a whole minute).
Priced per million trackings, EXPRESS (what the stack deploys) beside STANDARD, against the floor:
API Gateway's messages and connection minutes alone, which any design on API Gateway pays.
Not included: CloudWatch Logs ingestion, X-Ray, Secrets Manager calls (cached per container).

Results: bench/results/cost.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import websockets

from bench import prices
from bench.dynamodb_capacity import CapacityMeter
from bench.executions import executions_by_name, history
from bench.load import SEED_LENGTHS
from local.cli.options import LocalOptions
from local.cli.run import LocalMode
from local.cli.tokens import with_token
from local.template.synth import ROOT

RESULTS = ROOT / "bench" / "results"
MILLION = 1_000_000


@dataclass
class Session:
    opened: float
    closed: float
    messages_in: int
    messages_out: int
    tracking_id: str


async def _track(url: str, order_id: str) -> Session:
    opened = time.monotonic()
    async with websockets.connect(url) as connection:
        await connection.send(json.dumps({"type": "track_order", "orderId": order_id}))
        frames = [json.loads(await asyncio.wait_for(connection.recv(), 60)) for _ in range(SEED_LENGTHS[order_id])]
    assert [f["seq"] for f in frames] == list(range(1, SEED_LENGTHS[order_id] + 1)), frames
    return Session(opened, time.monotonic(), 1, len(frames), frames[0]["trackingId"])


def _label(name: str) -> str:
    """TablesConnectionsF6D675B1 -> Connections, HandlersEmitFunction8D725449 -> Emit."""
    return re.sub(r"^(Tables|Handlers)|(Function)?[0-9A-F]{8}$", "", name)


class CostRun:
    def __init__(self, mode: LocalMode) -> None:
        self.mode = mode
        stack_tables = mode.stack.tables()
        self.meter = CapacityMeter(
            {t.name: _label(t.name) for t in stack_tables}, {t.name for t in stack_tables if t.global_secondary_indexes}
        )
        mode.aws.wrap_app(self.meter.wrap)
        self.sfn = mode.aws.client("stepfunctions")

    async def measure(self, order_id: str, trackings: int) -> dict[str, Any]:
        runtime = self.mode.runtime
        before = {k: (u.invocations, u.billed_ms) for k, u in runtime.usage.items()}
        self.meter.reset()
        url = with_token(self.mode.gateway.url, self.mode.dev_token)
        sessions = await asyncio.gather(*(_track(url, order_id) for _ in range(trackings)))
        executions = await asyncio.get_running_loop().run_in_executor(None, self._finished, [s.tracking_id for s in sessions])
        await asyncio.sleep(1.0)  # $disconnect runs after the close handshake
        lambdas = {}
        for logical_id, usage in runtime.usage.items():
            invocations = usage.invocations - before.get(logical_id, (0, 0))[0]
            billed_ms = usage.billed_ms - before.get(logical_id, (0, 0))[1]
            if invocations:
                memory_gb = runtime.spec(logical_id).memory_mb / 1024
                lambdas[_label(logical_id)] = {
                    "invocations": invocations / trackings,
                    "billed_ms": billed_ms / trackings,
                    "gb_seconds": billed_ms / 1000 * memory_gb / trackings,
                }
        per_tracking = {
            "state_transitions": sum(e["transitions"] for e in executions) / trackings,
            "express_billed_seconds": sum(math.ceil(e["seconds"] * 10) / 10 for e in executions) / trackings,
            "lambda": lambdas,
            "dynamodb_write_units": self.meter.write_units / trackings,
            "dynamodb_read_units": self.meter.read_units / trackings,
            "dynamodb_calls": {k: v / trackings for k, v in sorted(self.meter.calls.items())},
            "messages": sum(s.messages_in + s.messages_out for s in sessions) / trackings,
            "connection_minutes": sum(math.ceil((s.closed - s.opened) / 60) for s in sessions) / trackings,
            "connection_seconds": sum(s.closed - s.opened for s in sessions) / trackings,
        }
        return {"order": order_id, "trackings": trackings, "per_tracking": per_tracking, "per_million": price(per_tracking)}

    def _finished(self, tracking_ids: list[str]) -> list[dict[str, Any]]:
        """Each tracking's execution once it has ended: its transitions and duration."""
        arn_of = executions_by_name(self.sfn)
        results = []
        for tracking_id in tracking_ids:
            while (execution := self.sfn.describe_execution(executionArn=arn_of[tracking_id]))["status"] == "RUNNING":
                time.sleep(0.2)
            events = history(self.sfn, arn_of[tracking_id])
            results.append(
                {
                    "transitions": sum(1 for e in events if e["type"].endswith("StateEntered")),
                    "seconds": (execution["stopDate"] - execution["startDate"]).total_seconds(),
                }
            )
        return results


def price(per_tracking: dict[str, Any]) -> dict[str, Any]:
    """Dollars per million trackings, by service."""
    lambda_cost = sum(
        f["invocations"] * prices.LAMBDA_PER_REQUEST + f["gb_seconds"] * prices.LAMBDA_ARM64_PER_GB_SECOND
        for f in per_tracking["lambda"].values()
    )
    express = (
        prices.SFN_EXPRESS_PER_REQUEST
        + per_tracking["express_billed_seconds"] * prices.SFN_EXPRESS_BILLED_MEMORY_GB * prices.SFN_EXPRESS_PER_GB_SECOND
    )
    standard = per_tracking["state_transitions"] * prices.SFN_STANDARD_PER_TRANSITION
    dynamodb = (
        per_tracking["dynamodb_write_units"] * prices.DYNAMODB_PER_WRITE_UNIT
        + per_tracking["dynamodb_read_units"] * prices.DYNAMODB_PER_READ_UNIT
    )
    floor = (
        per_tracking["messages"] * prices.API_GATEWAY_PER_MESSAGE
        + per_tracking["connection_minutes"] * prices.API_GATEWAY_PER_CONNECTION_MINUTE
    )
    common = floor + lambda_cost + dynamodb
    costs = {
        "api_gateway_floor": floor,
        "lambda": lambda_cost,
        "dynamodb": dynamodb,
        "step_functions_express": express,
        "step_functions_standard": standard,
        "total_express": common + express,
        "total_standard": common + standard,
    }
    rounded = {k: round(v * MILLION, 2) for k, v in costs.items()}
    rounded["express_over_floor"] = round(costs["total_express"] / floor, 1)
    rounded["standard_over_floor"] = round(costs["total_standard"] / floor, 1)
    return rounded


@contextlib.asynccontextmanager
async def metered_local_mode(**options: Any) -> AsyncIterator[CostRun]:
    """Local mode in this process, on free ports, with its DynamoDB calls metered (moto's DynamoDB
    stays in this process: the capacity meter reads its backend)."""
    mode = LocalMode(
        LocalOptions(
            ws_port=0, web_port=0, aws_port=0, quiet=True, watch=False, announce=False, dynamodb_process=False, **options
        )
    )
    await mode.start()
    try:
        yield CostRun(mode)
    finally:
        await mode.stop()


async def _main(trackings: int) -> dict[str, Any]:
    async with metered_local_mode(keep_executions=3600, max_connections_per_customer=10_000) as run:
        await run.measure("ZX-1003", trackings)  # warm every worker first: Lambda bills warm invocations at scale
        orders = [await run.measure(order_id, trackings) for order_id in SEED_LENGTHS]
    return {"prices": f"AWS list prices, us-east-1, as of {prices.PRICES_DATE}", "orders": orders}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.cost")
    parser.add_argument("--trackings", type=int, default=5, help="trackings measured per seed order")
    args = parser.parse_args(argv)
    report = asyncio.run(_main(args.trackings))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cost.json").write_text(json.dumps(report, indent=2) + "\n")
    columns = ("api_gateway_floor", "lambda", "dynamodb", "step_functions_express", "total_express", "total_standard")
    print(f"$ per million trackings ({report['prices']})")
    print(f"{'order':<9}" + "".join(f"{c:>24}" for c in columns) + f"{'express/floor':>15}")
    for row in report["orders"]:
        cost = row["per_million"]
        print(f"{row['order']:<9}" + "".join(f"{cost[c]:>24}" for c in columns) + f"{cost['express_over_floor']:>15}")
    print(f"results: {RESULTS / 'cost.json'}")
    return report


if __name__ == "__main__":
    main()
