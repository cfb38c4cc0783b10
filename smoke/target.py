"""A deployment to check from outside: its WebSocket endpoint, where customer tokens come from, the
stack's event delays, and, where the caller has them, what only the stack's own credentials reach (its
tables, bus, queues, management API and alarms) and its hosted client. The smoke check and the
end-to-end tests reach local mode and a deployed stack through this one class; what differs is the
endpoint, the token source and how much of the stack is reachable. A check that needs what a target
lacks is skipped, and says why."""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import jwt
from order_tracking.connections.tokens import mint

from infra.seed_data import load_seed_orders

DEFAULT_DELAYS = (3, 10)  # cdk.json's minDelaySeconds / maxDelaySeconds
DEMO_CUSTOMER_ID = load_seed_orders()[0]  # the seed orders' owner


def with_token(url: str, token: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}token={quote(token)}"


@dataclass(frozen=True)
class StackAccess:
    """What the stack's own credentials reach: boto3 clients (`client(service)`) and the names the
    checks need."""

    client: Callable[[str], Any]
    connections_table: str
    management_endpoint: str  # https://{api}.execute-api.{region}.amazonaws.com/{stage}
    event_bus: str
    failures_queue_url: str
    alarm_names: Callable[[], list[str]]
    management_client: Callable[[], Any]


@dataclass(frozen=True)
class Target:
    name: str
    ws_url: str  # the endpoint, without a token
    token_for: Callable[[str], str]  # a valid token for a customer id
    min_delay: int
    max_delay: int
    signing_secret: str | None = None  # known when tokens are minted here (not with --token)
    stack: StackAccess | None = None  # the stack's own credentials: tables, bus, queues, alarms
    client_url: str | None = None  # the hosted client's page
    hosted_ws_url: str | None = None  # the endpoint the hosted client's config.json must name (ws_url's, unless proxied)

    def url(self, customer: str = DEMO_CUSTOMER_ID) -> str:
        return with_token(self.ws_url, self.token_for(customer))

    def wrongly_signed_token(self, customer: str = DEMO_CUSTOMER_ID) -> str:
        """A token with valid claims signed with a key the stack does not have."""
        claims = jwt.decode(self.token_for(customer), options={"verify_signature": False})
        return jwt.encode(claims, secrets.token_urlsafe(48), algorithm="HS256")

    def expired_token(self, customer: str = DEMO_CUSTOMER_ID) -> str:
        """A token signed with the stack's key that expired ten minutes ago (needs the key)."""
        assert self.signing_secret is not None, "an expired token needs the signing key"
        claims = jwt.decode(self.token_for(customer), options={"verify_signature": False})
        now = int(time.time())
        return jwt.encode({**claims, "iat": now - 1200, "exp": now - 600}, self.signing_secret, algorithm="HS256")

    @property
    def mints(self) -> bool:
        """Whether tokens for any customer can be made (the signing key is known)."""
        return self.signing_secret is not None

    def through(self, ws_url: str) -> Target:
        """The same target reached at another WebSocket endpoint (a proxy)."""
        return replace(self, ws_url=ws_url.split("?", 1)[0], hosted_ws_url=self.hosted_ws_url or self.ws_url)

    @classmethod
    def from_stack(cls, stack_name: str, ttl_seconds: int = 3600) -> Target:
        """A deployed stack, read with the caller's AWS credentials (CloudFormation, Secrets Manager)."""
        import boto3

        cloudformation = boto3.client("cloudformation")
        outputs = {
            o["OutputKey"]: o["OutputValue"]
            for o in cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0].get("Outputs", [])
        }
        secret = boto3.client("secretsmanager").get_secret_value(SecretId=outputs["SigningSecretArn"])["SecretString"]
        delays = outputs.get("EventDelaySeconds", "-".join(map(str, DEFAULT_DELAYS))).split("-")
        stack = None
        needed = ("ConnectionsTableName", "ConnectionsEndpoint", "EventBusName", "PublishFailuresQueueUrl")
        if all(key in outputs for key in needed):

            def alarm_names() -> list[str]:
                pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name)
                return [
                    r["PhysicalResourceId"]
                    for page in pages
                    for r in page["StackResourceSummaries"]
                    if r["ResourceType"] == "AWS::CloudWatch::Alarm"
                ]

            stack = StackAccess(
                client=boto3.client,
                connections_table=outputs["ConnectionsTableName"],
                management_endpoint=outputs["ConnectionsEndpoint"],
                event_bus=outputs["EventBusName"],
                failures_queue_url=outputs["PublishFailuresQueueUrl"],
                alarm_names=alarm_names,
                management_client=lambda: boto3.client("apigatewaymanagementapi", endpoint_url=outputs["ConnectionsEndpoint"]),
            )
        return cls(
            name=stack_name,
            ws_url=outputs["WebSocketUrl"],
            token_for=lambda customer: mint(customer, secret, ttl_seconds),
            min_delay=int(delays[0]),
            max_delay=int(delays[1]),
            signing_secret=secret,
            stack=stack,
            client_url=outputs.get("ClientUrl"),
        )

    @classmethod
    def from_local_mode(cls, name: str, running: Any, secret: str) -> Target:
        """A running local mode (local/cli/running.py's record of it): its endpoints, its AWS side signed as
        its administrator, tokens minted with its key, and the delays it runs with."""
        from local.aws.cloudwatch import alarms_of
        from local.aws.services import local_client
        from local.template.names import queue_url
        from local.template.stack import SynthesizedStack
        from local.template.synth import ensure_synth

        synthesized = SynthesizedStack.load(ensure_synth())
        (connections,) = [t.name for t in synthesized.tables() if t.name.startswith("TablesConnections")]
        (failures,) = [q for q in synthesized.queues() if q.startswith("PublishingPublishFailures")]
        (bus,) = synthesized.event_buses()
        management = f"{running.websocket.replace('ws://', 'http://')}/{synthesized.websocket_api().stage_name}"
        alarms = [spec.name for spec in alarms_of(synthesized)]
        stack = StackAccess(
            client=lambda service: local_client(running.aws, service),
            connections_table=connections,
            management_endpoint=management,
            event_bus=bus,
            failures_queue_url=queue_url(failures),
            alarm_names=lambda: alarms,
            management_client=lambda: local_client(management, "apigatewaymanagementapi"),
        )
        return cls(
            name=name,
            ws_url=running.websocket,
            token_for=lambda customer: mint(customer, secret),
            min_delay=running.min_delay,
            max_delay=running.max_delay,
            signing_secret=secret,
            stack=stack,
            client_url=running.client,
        )

    @classmethod
    def with_secret(cls, name: str, ws_url: str, secret: str, min_delay: int, max_delay: int) -> Target:
        """Tokens minted here with the deployment's signing secret (local mode's is on this machine)."""
        return cls(name, ws_url.split("?", 1)[0], lambda customer: mint(customer, secret), min_delay, max_delay, secret)

    @classmethod
    def with_token(cls, ws_url: str, token: str, min_delay: int, max_delay: int) -> Target:
        """One given token (the demo customer's), e.g. the one `make dev` prints: the endpoint only."""
        return cls(ws_url, ws_url.split("?", 1)[0], lambda _customer: token, min_delay, max_delay)

    @classmethod
    def from_client_config(cls, client_url: str, min_delay: int, max_delay: int) -> Target:
        """A local client's config.json (its wsUrl and demo token): the endpoint only."""
        with urllib.request.urlopen(client_url.rstrip("/") + "/config.json", timeout=10) as response:  # noqa: S310
            config = json.load(response)
        return cls.with_token(config["wsUrl"], config["token"], min_delay, max_delay)


def seed_orders() -> dict[str, list[dict[str, str]]]:
    """The seed orders every stack is deployed with (infra/seed_orders.json)."""
    return load_seed_orders()[1]
