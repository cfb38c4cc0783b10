"""boto3 clients and settings, created once per process on first use (so tests and local mode set the
environment first).

Retries are botocore's standard mode: throttling and 5xx are retried with exponential backoff
before a handler ever sees them.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from order_tracking import settings
from order_tracking.settings import GatewaySettings

RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=5)


@cache
def dynamodb() -> Any:
    return boto3.resource("dynamodb", config=RETRY_CONFIG)


@cache
def table(name: str) -> Any:
    """A DynamoDB Table resource, built once per process (building one costs about a millisecond)."""
    return dynamodb().Table(name)


@cache
def stepfunctions() -> Any:
    return boto3.client("stepfunctions", config=RETRY_CONFIG)


@cache
def sqs() -> Any:
    return boto3.client("sqs", config=RETRY_CONFIG)


@cache
def management_api() -> Any:
    return boto3.client(
        "apigatewaymanagementapi", endpoint_url=settings.load(GatewaySettings).connections_endpoint, config=RETRY_CONFIG
    )


@cache
def secrets() -> Any:
    """Powertools' Secrets Manager provider (its cache keeps a value for the max_age a caller asks).
    Imported here, not at the top: only the authorizer reads secrets."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=boto3.client("secretsmanager", config=RETRY_CONFIG))


def reset() -> None:
    """Forget every client and the settings (tests change the environment between cases)."""
    settings.reset()
    for factory in (dynamodb, table, stepfunctions, sqs, management_api, secrets):
        factory.cache_clear()
