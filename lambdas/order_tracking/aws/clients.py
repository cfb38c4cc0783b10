"""boto3 clients, created once per process on first use (so tests and local mode set the environment
first).

Every client has the same time budget (deadline.py): explicit connect and read timeouts, one retry
(throttling, 5xx, timeouts and dropped connections are retried once, with backoff, before a handler
sees them), and the invocation's deadline checked before each attempt. The retry mode is botocore's
legacy one: its backoff is at most 1 s. The standard mode honours a service's x-amz-retry-after
header, which may add 5 s to a backoff, more than the budget keeps in reserve. The management API's
client keeps a connection per fan-out thread (max_pool_connections).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from order_tracking.runtime import deadline

FANOUT_THREADS = 32  # posts in flight at once during a live order's fan-out (live/publish.py)
SDK_CONFIG = Config(
    retries={"mode": "legacy", "total_max_attempts": deadline.MAX_ATTEMPTS},
    connect_timeout=deadline.CONNECT_TIMEOUT_SECONDS,
    read_timeout=deadline.READ_TIMEOUT_SECONDS,
)
MANAGEMENT_CONFIG = SDK_CONFIG.merge(Config(max_pool_connections=FANOUT_THREADS))


def _guarded(client: Any) -> Any:
    """`client`, refusing any attempt that could not end before the invocation's deadline."""
    client.meta.events.register("before-send", deadline.guard)
    return client


@cache
def dynamodb() -> Any:
    resource = boto3.resource("dynamodb", config=SDK_CONFIG)
    _guarded(resource.meta.client)
    return resource


@cache
def dynamodb_client() -> Any:
    """The low-level DynamoDB client: unlike a resource, safe to share between threads (the fan-out's)."""
    return _guarded(boto3.client("dynamodb", config=SDK_CONFIG))


@cache
def table(name: str) -> Any:
    """A DynamoDB Table resource, built once per process (building one costs about a millisecond)."""
    return dynamodb().Table(name)


@cache
def stepfunctions() -> Any:
    return _guarded(boto3.client("stepfunctions", config=SDK_CONFIG))


@cache
def sqs() -> Any:
    return _guarded(boto3.client("sqs", config=SDK_CONFIG))


@cache
def management_api(endpoint: str) -> Any:
    """The connection management API's client for the stage at `endpoint`."""
    return _guarded(boto3.client("apigatewaymanagementapi", endpoint_url=endpoint, config=MANAGEMENT_CONFIG))


@cache
def secrets() -> Any:
    """Powertools' Secrets Manager provider (its cache keeps a value for the max_age a caller asks).
    Imported here, not at the top: only the authorizer reads secrets."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=_guarded(boto3.client("secretsmanager", config=SDK_CONFIG)))


def reset() -> None:
    """Forget every client (tests change the environment between cases)."""
    for factory in (dynamodb, dynamodb_client, table, stepfunctions, sqs, management_api, secrets):
        factory.cache_clear()
