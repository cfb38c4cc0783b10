"""How `make smoke STACK=…` and `pytest tests/e2e --stack …` find a deployed stack: its outputs and
its signing secret, read with the user's credentials (here moto's CloudFormation and Secrets Manager)."""

from __future__ import annotations

import json

import boto3
import jwt
from moto import mock_aws
from order_tracking.connections.tokens import AUDIENCE

from smoke.target import Target

WS_URL = "wss://abc123.execute-api.eu-west-1.amazonaws.com/dev"


def test_a_deployed_stack_is_read_from_its_outputs_and_tokens_are_signed_with_its_secret():
    with mock_aws():
        secret = boto3.client("secretsmanager").create_secret(Name="signing", SecretString="s" * 64)
        template = {
            "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {
                "WebSocketUrl": {"Value": WS_URL},
                "SigningSecretArn": {"Value": secret["ARN"]},
                "EventDelaySeconds": {"Value": "3-10"},
            },
        }
        boto3.client("cloudformation").create_stack(StackName="OrderTracking-dev", TemplateBody=json.dumps(template))
        target = Target.from_stack("OrderTracking-dev")

    assert target.ws_url == WS_URL and (target.min_delay, target.max_delay) == (3, 10)
    url = target.url("alice")
    assert url.startswith(f"{WS_URL}?token=")
    claims = jwt.decode(url.split("token=", 1)[1], "s" * 64, algorithms=["HS256"], audience=AUDIENCE)
    assert claims["sub"] == "alice"
    forged = target.wrongly_signed_token("alice")
    assert jwt.decode(forged, options={"verify_signature": False})["sub"] == "alice"
    assert forged != target.token_for("alice")
