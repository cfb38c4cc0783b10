"""The synthesized state machine, executed by moto's Step Functions interpreter (server mode), its
Lambda tasks answered by the project's handlers in local worker processes."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

from tests.support.events import websocket_event
from tests.support.local_stack import running_stack

DELAY = 1  # min = max: each later event comes exactly DELAY seconds after the one before


@pytest.fixture(scope="module")
def system(stack):
    with running_stack(stack, delay_seconds=DELAY) as running:
        yield running


def call_route(system, route_key: str, connection_id: str, body: dict | None = None):
    event = websocket_event(route_key, connection_id, json.dumps(body) if body is not None else None)
    invocation = system.runtime.invoke(system.routes[route_key], event)
    assert invocation.error is None, invocation.error
    return invocation.payload


def open_and_track(system, connection_id: str, order_id: str):
    client = system.management.open(connection_id)
    assert call_route(system, "$connect", connection_id) == {"statusCode": 200}
    assert call_route(system, "track_order", connection_id, {"type": "track_order", "orderId": order_id}) == {"statusCode": 200}
    return client


def arrival_gaps(frames) -> list[float]:
    times = [datetime.fromisoformat(f["at"].replace("Z", "+00:00")).timestamp() for f in frames]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def test_each_seed_order_runs_to_its_end_in_order(system):
    expected = {
        "ZX-1001": ["Order received", "Processing", "Shipped", "Delivered"],
        "ZX-1002": ["Order received", "Processing", "Delivery delayed", "Shipped"],
        "ZX-1003": ["Order received", "Cancelled by customer"],
    }
    clients = {order: open_and_track(system, f"run-{order}", order) for order in expected}
    for order, labels in expected.items():
        frames = clients[order].wait_for(len(labels), timeout=30)
        assert [f["label"] for f in frames] == labels
        assert [f["seq"] for f in frames] == list(range(1, len(labels) + 1))
        assert len({f["trackingId"] for f in frames}) == 1
        assert {f["orderId"] for f in frames} == {order}
        # Wait states: MathRandom(DELAY, DELAY + 1) is DELAY under AWS's exclusive end bound.
        for gap in arrival_gaps(frames):
            assert DELAY - 0.05 <= gap < DELAY + 0.9, gap


def test_switching_mid_cycle_ends_the_old_execution(system):
    client = open_and_track(system, "switcher", "ZX-1001")
    first = client.wait_for(1, timeout=15)[0]
    assert call_route(system, "track_order", "switcher", {"type": "track_order", "orderId": "ZX-1003"}) == {"statusCode": 200}
    frames = client.wait_for(3, timeout=15)
    time.sleep(DELAY * 2.5)  # long enough for the old execution's next two events, were they not fenced
    after_switch = client.frames[1:]
    assert [f["label"] for f in after_switch] == ["Order received", "Cancelled by customer"]
    assert {f["trackingId"] for f in after_switch} != {first["trackingId"]}
    assert first["trackingId"] not in {f["trackingId"] for f in frames[1:]}


def test_an_emit_that_fails_for_good_puts_the_execution_on_the_dead_letter_queue(system, stack):
    sfn = system.aws.client("stepfunctions")
    (machine,) = stack.state_machines()
    # An event without its type, label and status: emit raises KeyError, which no Retry matches.
    broken = {
        "trackingId": "broken-1",
        "orderId": "ZX-1001",
        "events": [{"seq": 1, "orderId": "ZX-1001"}],
        "minDelay": 1,
        "maxDelay": 1,
    }
    execution = sfn.start_execution(stateMachineArn=machine.arn, name="broken-1", input=json.dumps(broken))["executionArn"]
    deadline = time.monotonic() + 30
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert described["status"] == "FAILED"
    sqs = system.aws.client("sqs")
    (queue,) = [q for q in stack.queues() if q.startswith("FailedTrackings")]
    messages = sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName=queue)["QueueUrl"], WaitTimeSeconds=1)["Messages"]
    (letter,) = [json.loads(m["Body"]) for m in messages]
    assert letter["trackingId"] == "broken-1" and letter["execution"] == execution
    assert letter["error"] == "KeyError" and "order_event_frame" in letter["cause"]


def test_math_random_end_bound_is_exclusive_as_on_aws(system):
    """moto draws States.MathRandom's end inclusively; local mode pins AWS's exclusive end."""
    sfn = system.aws.client("stepfunctions")
    definition = {
        "StartAt": "Draw",
        "States": {"Draw": {"Type": "Pass", "Parameters": {"r.$": "States.MathRandom(0, 1)"}, "End": True}},
    }
    arn = sfn.create_state_machine(name="draw", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/x")[
        "stateMachineArn"
    ]
    draws = []
    for i in range(40):
        execution = sfn.start_execution(stateMachineArn=arn, name=f"draw-{i}")["executionArn"]
        for _ in range(100):
            described = sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                break
            time.sleep(0.02)
        draws.append(json.loads(described["output"])["r"])
    assert set(draws) == {0}


def test_finished_executions_are_pruned_so_a_long_run_stays_flat(system):
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends
    from moto.stepfunctions.parser.utils import TMP_THREADS

    from local.aws import moto_patches
    from local.template.names import ACCOUNT_ID, REGION

    machines = stepfunctions_parser_backends[ACCOUNT_ID][REGION].state_machines
    finished_before = sum(1 for m in machines for e in m.executions if e.exec_status != "RUNNING")
    assert finished_before >= 4  # the seed orders and the switch above
    assert moto_patches.prune_finished_executions(keep_seconds=0) >= finished_before
    assert all(e.exec_status == "RUNNING" for m in machines for e in m.executions)
    assert all(thread.is_alive() for thread in TMP_THREADS)
