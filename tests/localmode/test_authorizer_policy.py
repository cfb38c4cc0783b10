"""Local mode evaluates a Lambda authorizer's policy as API Gateway does: IAM wildcards, a list or a
string of resources, a matching Deny wins, and anything malformed admits no one."""

from __future__ import annotations

import pytest

from local.iam.policies import policy_allows

CONNECT = "arn:aws:execute-api:us-east-1:123456789012:local/dev/$connect"


def answer(*statements: dict) -> dict:
    return {"principalId": "alice", "policyDocument": {"Version": "2012-10-17", "Statement": list(statements)}}


def allow(resource, action="execute-api:Invoke") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


@pytest.mark.parametrize(
    "resource",
    [CONNECT, [CONNECT], "arn:aws:execute-api:us-east-1:123456789012:local/dev/*", "*", "arn:aws:execute-api:*:*:local/*"],
)
def test_an_allow_that_matches_the_route_admits(resource):
    assert policy_allows(answer(allow(resource)), "execute-api:Invoke", CONNECT)


@pytest.mark.parametrize(
    "policy",
    [
        answer(allow("arn:aws:execute-api:us-east-1:123456789012:local/prod/$connect")),  # another stage
        answer(allow("arn:aws:execute-api:us-east-1:123456789012:other/dev/*")),  # another API
        answer(allow(CONNECT, action="execute-api:ManageConnections")),  # another action
        answer(allow("*"), {"Effect": "Deny", "Action": "execute-api:*", "Resource": CONNECT}),  # Deny wins
        answer(),  # no statement
        {"principalId": "alice"},  # no policy
        {"policyDocument": "Allow"},  # malformed
        None,
    ],
)
def test_anything_else_refuses(policy):
    assert not policy_allows(policy, "execute-api:Invoke", CONNECT)


def test_a_deny_of_another_route_does_not_refuse_this_one():
    policy = answer(
        allow("*"), {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": CONNECT.replace("$connect", "ping")}
    )
    assert policy_allows(policy, "execute-api:Invoke", CONNECT)
