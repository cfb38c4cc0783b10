"""One AWS call's round trip to local mode's AWS endpoint (local/aws/wsgi_server.py serving moto's
DynamoDB), with and without Nagle's algorithm on the endpoint's sockets, and the endpoint's memory per
call with and without moto recording every model instance (local/aws/moto_patches.py).

    python -m bench.aws_endpoint [--calls 1200]

A call here is what a handler's is: botocore over a kept-alive connection, a small PutItem,
UpdateItem or DeleteItem. Results: bench/results/aws_endpoint.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import threading
import time
import uuid
from typing import Any

from moto.core import common_models
from moto.moto_server.werkzeug_app import create_backend_app

from bench.process_usage import rss_mb
from local.aws import moto_patches, wsgi_server
from local.aws.services import local_client
from local.template.synth import ROOT

RESULTS = ROOT / "bench" / "results"


def _endpoint(nagle: bool) -> tuple[Any, wsgi_server.KeepAliveWsgiServer]:
    wsgi_server._Handler.disable_nagle_algorithm = not nagle
    server = wsgi_server.KeepAliveWsgiServer("127.0.0.1", 0, create_backend_app("dynamodb"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = local_client(f"http://127.0.0.1:{server.port}", "dynamodb")
    table = f"t{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.table_name = table
    return client, server


def _cycle(client: Any) -> list[float]:
    """A tracking's worth of calls on one item (put, four appends, delete): each one's seconds."""
    key = {"id": {"S": uuid.uuid4().hex}}
    append = {
        "UpdateExpression": "SET events = list_append(events, :e)",
        "ExpressionAttributeValues": {":e": {"L": [{"M": {"label": {"S": "Shipped"}}}]}},
    }
    calls: list[tuple[str, dict[str, Any]]] = [
        ("put_item", {"Item": {**key, "events": {"L": []}}}),
        *[("update_item", {"Key": key, **append})] * 4,
        ("delete_item", {"Key": key}),
    ]
    seconds = []
    for operation, request in calls:
        started = time.perf_counter()
        getattr(client, operation)(TableName=client.table_name, **request)
        seconds.append(time.perf_counter() - started)
    return seconds


def _round_trips(nagle: bool, calls: int) -> dict[str, float]:
    client, server = _endpoint(nagle)
    try:
        samples: list[float] = []
        while len(samples) < calls:
            samples.extend(_cycle(client))
    finally:
        server.shutdown()
    cuts = statistics.quantiles(samples, n=100)
    return {"p50_ms": round(cuts[49] * 1000, 2), "p99_ms": round(cuts[98] * 1000, 2), "calls": len(samples)}


def _memory_per_call(tracked: bool, calls: int) -> float:
    """KB of resident memory the endpoint's process gains per call, after a warm-up."""
    original = common_models.BaseModel.__new__
    if not tracked:
        moto_patches.forget_model_instances()
    client, server = _endpoint(nagle=False)
    try:
        for _ in range(50):
            _cycle(client)
        gc.collect()
        before = rss_mb(os.getpid())
        made = 0
        while made < calls:
            made += len(_cycle(client))
        gc.collect()
        return round((rss_mb(os.getpid()) - before) * 1024 / made, 2)
    finally:
        server.shutdown()
        common_models.BaseModel.__new__ = original  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.aws_endpoint")
    parser.add_argument("--calls", type=int, default=1200)
    args = parser.parse_args(argv)
    report = {
        "round_trip": {
            "nagle (before)": _round_trips(nagle=True, calls=min(args.calls, 300)),  # 45 ms each: fewer
            "TCP_NODELAY (after)": _round_trips(nagle=False, calls=args.calls),
        },
        "memory_kb_per_call": {
            "every model instance kept (before)": _memory_per_call(tracked=True, calls=args.calls * 3),
            "instances not recorded (after)": _memory_per_call(tracked=False, calls=args.calls * 3),
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "aws_endpoint.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
