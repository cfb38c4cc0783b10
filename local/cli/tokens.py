"""Tokens for people: the local signing secret, and `python -m local token` (what `make token` runs).

Local mode keeps its signing secret in `.local/signing-secret` (created on first run, git-ignored), so
tokens stay valid across restarts. For a deployed stack the secret is read from Secrets Manager with
your own AWS credentials.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from urllib.parse import quote

from infra.seed_data import load_seed_orders
from local.template.synth import ROOT

sys.path.insert(0, str(ROOT / "lambdas"))
from order_tracking.connections.tokens import mint  # noqa: E402 - the same claims the authorizer checks

SECRET_FILE = ROOT / ".local" / "signing-secret"
# The customer the seed orders belong to (one source: the seed data the stack deploys).
DEMO_CUSTOMER_ID: str = load_seed_orders()[0]

__all__ = ["DEMO_CUSTOMER_ID", "deployed_token", "local_signing_secret", "mint", "with_token"]


def local_signing_secret(path: Path = SECRET_FILE) -> str:
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        os.chmod(path, 0o600)
    return path.read_text().strip()


def with_token(url: str, token: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}token={quote(token)}"


def deployed_token(stack_name: str, customer_id: str, ttl_seconds: int) -> tuple[str, str]:
    """(token, wss URL with the token) for a deployed stack, read with the caller's AWS credentials."""
    import boto3

    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0].get("Outputs", [])
    }
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=outputs["SigningSecretArn"])["SecretString"]
    token = mint(customer_id, secret, ttl_seconds)
    return token, with_token(outputs["WebSocketUrl"], token)
