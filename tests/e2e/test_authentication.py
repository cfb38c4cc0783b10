"""Authentication at the handshake, against local mode running the template's authorizer."""

from __future__ import annotations

import json
import time

import jwt
import pytest
import websockets
from order_tracking.connections.tokens import AUDIENCE, ISSUER

from local.cli.tokens import local_signing_secret, mint, with_token
from tests.e2e.conftest import CONNECTION_CAP
from tests.support.aio import run
from tests.support.ws_client import TrackingClient


def _base(local_mode) -> str:
    return local_mode.ws_url.split("?", 1)[0]


def _claims(**changes):
    now = int(time.time())
    return {"sub": "demo", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600, **changes}


def _status_of_handshake(url: str) -> int:
    async def attempt():
        try:
            connection = await websockets.connect(url, open_timeout=20)
        except websockets.InvalidStatus as refused:
            return refused.response.status_code
        await connection.close()
        return 101

    return run(attempt())


@pytest.mark.parametrize(
    "token",
    [
        None,
        "garbage",
        jwt.encode(_claims(), "not-the-local-secret-but-long-enough-x", algorithm="HS256"),
        jwt.encode(_claims(), None, algorithm="none"),
        "expired",
        "not yet valid",
        "wrong audience",
    ],
    ids=["missing", "malformed", "wrongly-signed", "alg-none", "expired", "not-yet-valid", "wrong-audience"],
)
def test_bad_tokens_are_refused_at_the_handshake(target, token):
    secret = target.signing_secret
    special = {
        "expired": _claims(exp=int(time.time()) - 300),
        "not yet valid": _claims(nbf=int(time.time()) + 600),
        "wrong audience": _claims(aud="another-app"),
    }
    if token in special:
        token = jwt.encode(special[token], secret, algorithm="HS256")
    url = target.ws_url if token is None else with_token(target.ws_url, token)
    # No token: API Gateway refuses without asking the authorizer (401). A bad one: the authorizer's
    # Deny policy (403), so a refusal is no function error (docs/security.md).
    assert _status_of_handshake(url) == (401 if token is None else 403)


def test_a_valid_token_connects_and_its_customer_sees_only_their_orders(target):
    async def scenario():
        other = await TrackingClient.open(target.url("someone-else"))
        await other.track("ZX-1001")
        frames = await other.wait_for_count(1)
        await other.close()
        return frames

    (frame,) = run(scenario())
    assert frame["type"] == "error" and frame["code"] == "order_not_found"


def test_the_signing_secret_is_in_neither_the_template_nor_the_logs(local_mode, cdk_out):
    secret = local_signing_secret()
    assert _status_of_handshake(local_mode.ws_url) == 101
    templates = "".join(p.read_text() for p in cdk_out.glob("*.template.json"))
    assert secret not in templates
    assert secret not in "\n".join(local_mode.lines)
    for template in (json.loads(p.read_text()) for p in cdk_out.glob("*.template.json")):
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::SecretsManager::Secret":  # generated at deploy, never given
                assert "GenerateSecretString" in resource["Properties"]
                assert "SecretString" not in resource["Properties"]


def test_a_customer_cannot_open_more_connections_than_the_cap(local_mode):
    url = with_token(_base(local_mode), mint("cap-probe", local_signing_secret()))

    async def scenario():
        opened = [await websockets.connect(url, open_timeout=20) for _ in range(CONNECTION_CAP)]
        try:
            await websockets.connect(url, open_timeout=20)
        except websockets.InvalidStatus as refused:
            status = refused.response.status_code
        else:
            status = 101
        for connection in opened:
            await connection.close()
        return status

    assert run(scenario()) == 429
