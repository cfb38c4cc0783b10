"""A deployment to check from outside: its WebSocket endpoint, where customer tokens come from, and
the stack's event delays. The smoke check and the end-to-end tests reach local mode and a deployed
stack through this one class; only the endpoint and the token source differ."""

from __future__ import annotations

import json
import secrets
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from infra.seed_data import load_seed_orders
from local.tokens import DEMO_CUSTOMER_ID, mint, with_token

DEFAULT_DELAYS = (3, 10)  # cdk.json's minDelaySeconds / maxDelaySeconds


@dataclass(frozen=True)
class Target:
    name: str
    ws_url: str  # the endpoint, without a token
    token_for: Callable[[str], str]  # a valid token for a customer id
    min_delay: int
    max_delay: int
    signing_secret: str | None = None  # known when tokens are minted here (not with --token)

    def url(self, customer: str = DEMO_CUSTOMER_ID) -> str:
        return with_token(self.ws_url, self.token_for(customer))

    def wrongly_signed_token(self, customer: str = DEMO_CUSTOMER_ID) -> str:
        """A token with valid claims signed with a key the stack does not have."""
        claims = jwt.decode(self.token_for(customer), options={"verify_signature": False})
        return jwt.encode(claims, secrets.token_urlsafe(48), algorithm="HS256")

    @classmethod
    def from_stack(cls, stack_name: str, ttl_seconds: int = 3600) -> Target:
        """A deployed stack, read with the caller's AWS credentials (CloudFormation, Secrets Manager)."""
        import boto3

        outputs = {
            o["OutputKey"]: o["OutputValue"]
            for o in boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0].get("Outputs", [])
        }
        secret = boto3.client("secretsmanager").get_secret_value(SecretId=outputs["SigningSecretArn"])["SecretString"]
        delays = outputs.get("EventDelaySeconds", "-".join(map(str, DEFAULT_DELAYS))).split("-")
        return cls(
            name=stack_name,
            ws_url=outputs["WebSocketUrl"],
            token_for=lambda customer: mint(customer, secret, ttl_seconds),
            min_delay=int(delays[0]),
            max_delay=int(delays[1]),
            signing_secret=secret,
        )

    @classmethod
    def with_secret(cls, name: str, ws_url: str, secret: str, min_delay: int, max_delay: int) -> Target:
        """Tokens minted here with the deployment's signing secret (local mode's is on this machine)."""
        return cls(name, ws_url.split("?", 1)[0], lambda customer: mint(customer, secret), min_delay, max_delay, secret)

    @classmethod
    def with_token(cls, ws_url: str, token: str, min_delay: int, max_delay: int) -> Target:
        """One given token (the demo customer's), e.g. the one `make dev` prints."""
        return cls(ws_url, ws_url.split("?", 1)[0], lambda _customer: token, min_delay, max_delay)

    @classmethod
    def from_client_config(cls, client_url: str, min_delay: int, max_delay: int) -> Target:
        """A running `make dev`, found through the client's config.json (its wsUrl and demo token)."""
        with urllib.request.urlopen(client_url.rstrip("/") + "/config.json", timeout=10) as response:  # noqa: S310
            config = json.load(response)
        return cls.with_token(config["wsUrl"], config["token"], min_delay, max_delay)


def seed_orders() -> dict[str, list[dict[str, str]]]:
    """The seed orders every stack is deployed with (infra/seed_orders.json)."""
    return load_seed_orders()[1]
