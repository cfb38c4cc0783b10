"""The $connect authorizer: every bad token refused, a good one admits its customer; customers are
kept apart."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from handlers import authorize
from order_tracking.aws import clients as aws_clients
from order_tracking.connections.tokens import AUDIENCE, ISSUER, mint

from tests.support.events import websocket_event
from tests.unit.conftest import SIGNING_SECRET, LambdaContextStub, reply_frame
from tests.unit.test_routes import current_tracking

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:local/dev/$connect"


def _claims(**changes):
    now = int(time.time())
    claims = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _authorize(token):
    event = websocket_event("$connect", "conn-auth")
    event.update({"type": "REQUEST", "methodArn": METHOD_ARN})
    if token is not None:
        event["queryStringParameters"] = {"token": token}
    return authorize.handler(event, LambdaContextStub())


# Each minted when its test runs (not when the module is collected: a token of 600 s would turn valid,
# or expire for another reason, in a suite that runs longer than that).
BAD_TOKENS = {
    "missing": lambda: None,
    "empty": lambda: "",
    "malformed": lambda: "not.a.jwt",
    "wrongly signed": lambda: jwt.encode(_claims(), "another-secret-of-sufficient-length-xx", algorithm="HS256"),
    "alg none": lambda: jwt.encode(_claims(), None, algorithm="none"),
    "expired": lambda: jwt.encode(_claims(exp=int(time.time()) - 120), SIGNING_SECRET, algorithm="HS256"),
    "not yet valid": lambda: jwt.encode(_claims(nbf=int(time.time()) + 600), SIGNING_SECRET, algorithm="HS256"),
    "wrong audience": lambda: jwt.encode(_claims(aud="someone-else"), SIGNING_SECRET, algorithm="HS256"),
    "wrong issuer": lambda: jwt.encode(_claims(iss="evil"), SIGNING_SECRET, algorithm="HS256"),
    "no expiry": lambda: jwt.encode(_claims(exp=None), SIGNING_SECRET, algorithm="HS256"),
    "no subject": lambda: jwt.encode(_claims(sub=None), SIGNING_SECRET, algorithm="HS256"),
}


def assert_refused(policy: dict) -> None:
    """A Deny of $connect (API Gateway answers the handshake 403), not a function error: the function
    did its job, so Lambda's Errors metric and the AuthorizerErrors alarm do not count it."""
    assert policy["principalId"] == "unauthorized" and "context" not in policy
    (statement,) = policy["policyDocument"]["Statement"]
    assert statement == {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [METHOD_ARN]}


@pytest.mark.parametrize("name", sorted(BAD_TOKENS))
def test_bad_tokens_are_refused_with_a_deny_policy_and_counted_not_raised(aws, name, capsys):
    assert_refused(_authorize(BAD_TOKENS[name]()))
    output = capsys.readouterr()
    assert SIGNING_SECRET not in output.out + output.err
    (metrics,) = [json.loads(line) for line in output.out.splitlines() if line.startswith('{"_aws"')]
    assert metrics["ConnectionsUnauthorized"] == [1.0] or metrics["ConnectionsUnauthorized"] == 1.0


def test_an_authorizer_that_cannot_read_its_key_fails_as_a_function_error(aws, monkeypatch):
    """A real failure still raises (Lambda counts it; the AuthorizerErrors alarm pages)."""
    from order_tracking.connections import tokens

    def unreadable(secret_id: str) -> str:
        raise RuntimeError("AccessDeniedException: secretsmanager:GetSecretValue")

    monkeypatch.setattr(tokens, "signing_secret", unreadable)
    with pytest.raises(RuntimeError, match="AccessDenied"):
        _authorize(mint("alice", SIGNING_SECRET))


def test_a_valid_token_admits_its_customer_and_passes_the_id_on(aws, capsys):
    token = mint("alice", SIGNING_SECRET)
    policy = _authorize(token)
    assert policy["principalId"] == "alice"
    assert policy["context"] == {"customerId": "alice"}
    (statement,) = policy["policyDocument"]["Statement"]
    assert statement == {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [METHOD_ARN]}
    output = capsys.readouterr()
    assert token not in output.out + output.err and SIGNING_SECRET not in output.out + output.err


def test_a_token_within_the_clock_skew_leeway_is_accepted(aws):
    token = jwt.encode(_claims(exp=int(time.time()) - 10), SIGNING_SECRET, algorithm="HS256")
    assert _authorize(token)["principalId"] == "alice"


def test_another_customer_can_neither_track_nor_resume_the_demo_orders(routes, aws):
    routes.connect("conn-demo", customer="demo")
    routes.track("conn-demo", "ZX-1001", customer="demo")
    demo_tracking = current_tracking(aws, "conn-demo")
    spy = routes.connect("conn-mallory", customer="mallory")
    unknown = reply_frame(routes.track("conn-mallory", "ZX-9999", customer="mallory"))
    foreign = reply_frame(routes.track("conn-mallory", "ZX-1001", customer="mallory"))
    resumed = reply_frame(
        routes.track("conn-mallory", "ZX-1001", resume={"trackingId": demo_tracking, "afterSeq": 0}, customer="mallory")
    )
    # Exactly the answer for an order that does not exist: existence is not revealed.
    for frame in (foreign, resumed):
        assert {k: v for k, v in frame.items() if k not in ("at", "orderId")} == {
            k: v for k, v in unknown.items() if k not in ("at", "orderId")
        }
    assert spy.frames == []
    tracking = aws.dynamodb.Table(aws.env["TRACKINGS_TABLE"]).get_item(Key={"trackingId": demo_tracking})["Item"]
    assert tracking["connectionId"] == "conn-demo"


def test_a_customer_at_the_connection_cap_is_refused_until_one_closes(routes, aws):
    cap = int(aws.env["MAX_CONNECTIONS_PER_CUSTOMER"])
    for i in range(cap):
        routes.connect(f"busy-{i}", customer="busy")
    assert routes.call("$connect", "busy-extra", customer="busy") == {"statusCode": 429}
    assert routes.call("$connect", "other", customer="someone-else") == {"statusCode": 200}
    routes.call("$disconnect", "busy-0", customer="busy")
    assert routes.call("$connect", "busy-extra", customer="busy") == {"statusCode": 200}


def test_the_cap_check_reads_at_most_cap_items_however_many_connections_the_customer_holds(routes, aws):
    """A customer with 5× the cap open (say, before the cap was lowered): each $connect still reads
    at most `cap` index items, and is refused."""
    cap = int(aws.env["MAX_CONNECTIONS_PER_CUSTOMER"])
    table = aws.dynamodb.Table(aws.env["CONNECTIONS_TABLE"])
    for i in range(cap * 5):
        table.put_item(Item={"connectionId": f"held-{i}", "customerId": "many"})
    queries: list[dict] = []
    events = aws_clients.dynamodb().meta.client.meta.events

    def record(params, model, **_):
        if model.name == "Query":
            queries.append(params)

    events.register("provide-client-params.dynamodb.Query", record)
    try:
        assert routes.call("$connect", "one-more", customer="many") == {"statusCode": 429}
    finally:
        events.unregister("provide-client-params.dynamodb.Query", record)
    (query,) = queries
    assert query["Limit"] == cap and query["Select"] == "COUNT"


@pytest.mark.parametrize("oidc", [False, True])
def test_in_a_lambda_environment_hs256_never_imports_cryptography_and_oidc_does(oidc):
    """PyJWT imports cryptography whenever it can (about 35 ms of the authorizer's cold start), and the
    Powertools layer has it: with the stack's own HS256 tokens it is kept out; with OIDC it is needed."""
    import subprocess
    import sys

    from local.template.synth import ROOT

    code = (
        "import sys\nimport handlers.authorize\n"
        "from order_tracking.connections.tokens import customer_of, mint\n"
        "print(sys.modules.get('cryptography') is None)\n"
        "print(customer_of(mint('alice', 'x' * 40), 'x' * 40))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "AWS_LAMBDA_FUNCTION_NAME": "authorizer", "PYTHONPATH": str(ROOT / "lambdas")}
    if oidc:
        env["OIDC_ISSUER"] = "https://issuer.example"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    blocked, customer = done.stdout.split()
    assert customer == "alice"  # HS256 works without it
    assert blocked == str(not oidc)
