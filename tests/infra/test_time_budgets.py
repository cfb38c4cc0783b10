"""Every function's longest invocation, by design, fits inside its timeout with margin; a send lease
outlives the longest post; a tracking's execution, every retry of every emit spent, ends before the
state machine's TimeoutSeconds. Computed from the constants the code uses (lambdas/order_tracking/
runtime/deadline.py, delivery/lease.py, aws/clients.py) and the synthesized template, as docs/operations.md
explains. tests/unit/test_deadline.py shows the arithmetic is the truth, with a DynamoDB that never answers."""

from __future__ import annotations

import json

import pytest
from order_tracking.aws import clients as aws_clients
from order_tracking.connections import tokens
from order_tracking.delivery import lease
from order_tracking.runtime import deadline

from infra.config import DEFAULTS, EXPRESS_LIMIT_SECONDS, LONGEST_ORDER_WAITS
from local.template.stack import SynthesizedStack
from tests.infra.test_template import resources

API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS = 29  # a WebSocket route's Lambda integration, at most
MARGIN_SECONDS = 0.5
ROUTES = {"connect", "disconnect", "track_order", "ping", "default", "authorize"}


@pytest.fixture(scope="module", params=["dev", "prod"])
def template(request) -> dict:
    if request.param == "dev":
        return request.getfixturevalue("stack").template
    return SynthesizedStack.load(request.getfixturevalue("prod_cdk_out")).template


def timeouts(template: dict) -> dict[str, int]:
    return {
        r["Properties"]["Handler"].split(".")[1]: int(r["Properties"]["Timeout"])
        for r in resources(template, "AWS::Lambda::Function").values()
        if str(r["Properties"].get("Handler", "")).startswith("handlers.")
    }


def test_the_sdk_is_configured_with_the_budgets_constants():
    for config in (aws_clients.SDK_CONFIG, aws_clients.MANAGEMENT_CONFIG):
        assert config.connect_timeout == deadline.CONNECT_TIMEOUT_SECONDS
        assert config.read_timeout == deadline.READ_TIMEOUT_SECONDS
        assert config.retries == {"mode": "legacy", "total_max_attempts": deadline.MAX_ATTEMPTS}
    assert aws_clients.MANAGEMENT_CONFIG.max_pool_connections == aws_clients.FANOUT_THREADS
    assert deadline.CALL_SECONDS == deadline.MAX_ATTEMPTS * deadline.ATTEMPT_SECONDS + deadline.MAX_BACKOFF_SECONDS


def test_every_functions_longest_invocation_fits_inside_its_timeout(template):
    for handler, timeout in timeouts(template).items():
        worst = deadline.worst_case_seconds(timeout)
        assert worst + MARGIN_SECONDS <= timeout, (handler, worst, timeout)
        assert timeout - deadline.RESERVE_SECONDS >= deadline.CALL_SECONDS, (handler, "no room for one AWS call")
        if handler in ROUTES:
            assert timeout <= API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS - MARGIN_SECONDS, handler
    assert deadline.RESERVE_SECONDS >= deadline.MAX_BACKOFF_SECONDS + deadline.CPU_ALLOWANCE_SECONDS + MARGIN_SECONDS
    # The authorizer's OIDC key set is fetched without the SDK (no guard): twice at most, an unknown kid's refresh.
    assert 2 * tokens.JWKS_TIMEOUT_SECONDS + MARGIN_SECONDS <= timeouts(template)["authorize"] - deadline.RESERVE_SECONDS


def test_a_send_lease_outlives_the_longest_post_and_a_switch_can_wait_for_three(template):
    assert lease.LEASE_MS / 1000 >= deadline.CALL_SECONDS + MARGIN_SECONDS
    # track_order's switch may wait for up to three posts of the previous tracking, and still make its
    # own six calls in their usual tens of milliseconds (a call at its worst meets the deadline instead).
    track_order = timeouts(template)["track_order"]
    assert lease.WAIT_MS / 1000 + 1.0 <= track_order - deadline.RESERVE_SECONDS


def test_a_trackings_execution_ends_before_the_state_machines_timeout_with_every_retry_spent(template):
    (machine,) = resources(template, "AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    definition = json.loads("".join(p if isinstance(p, str) else "" for p in parts))
    emit = definition["States"]["EachEvent"]["ItemProcessor"]["States"]["Emit"]
    (retrier,) = emit["Retry"]  # one retrier: its worst case is one sum
    assert {"TransientFault", "Sandbox.Timedout", "Lambda.ServiceException", "Lambda.TooManyRequestsException"} <= set(
        retrier["ErrorEquals"]
    )
    waits = sum(
        min(retrier["IntervalSeconds"] * retrier["BackoffRate"] ** i, retrier.get("MaxDelaySeconds", 10**9))
        for i in range(retrier["MaxAttempts"])
    )
    attempts = 1 + retrier["MaxAttempts"]
    per_event = attempts * timeouts(template)["emit"] + waits
    max_delay = int(DEFAULTS["maxDelaySeconds"])
    longest = LONGEST_ORDER_WAITS * (max_delay + per_event) + deadline.CALL_SECONDS  # and the dead letter
    assert definition["TimeoutSeconds"] == EXPRESS_LIMIT_SECONDS
    assert longest + 30 <= definition["TimeoutSeconds"], longest
