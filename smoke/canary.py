"""The stack's CloudWatch Synthetics canary (`-c canary=true`, infra/canary.py): every 5 minutes, the
smoke checks that need only the endpoint and a token, against the stack's own WebSocket endpoint.
A run fails (Synthetics marks it so, and the CanaryFailed alarm pages) when a check fails.

Environment, set by the stack: WEBSOCKET_URL, SIGNING_SECRET_ID (tokens are minted with the stack's
key, read from Secrets Manager), MIN_DELAY_SECONDS, MAX_DELAY_SECONDS.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from smoke.results import Options
from smoke.suite import ENDPOINT_CHECKS, run_checks
from smoke.target import Target


class CanaryFailed(Exception):
    """At least one check failed: the run fails."""


def target_from_environment() -> Target:
    import boto3

    secret = boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["SIGNING_SECRET_ID"])["SecretString"]
    return Target.with_secret(
        "canary",
        os.environ["WEBSOCKET_URL"],
        secret,
        int(os.environ["MIN_DELAY_SECONDS"]),
        int(os.environ["MAX_DELAY_SECONDS"]),
    )


def handler(event: Any = None, context: Any = None) -> str:
    results = asyncio.run(run_checks(target_from_environment(), Options(), ENDPOINT_CHECKS))
    for result in results:
        print(f"{result.status} {result.name} {result.seconds:.2f} s {result.detail}")
    failed = [r for r in results if r.status == "FAIL"]
    if failed:
        raise CanaryFailed("; ".join(f"{r.name}: {r.detail}" for r in failed))
    return f"{len(results)} checks, none failed"
