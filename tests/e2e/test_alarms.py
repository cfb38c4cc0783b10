"""Local mode shows the alarms (local/aws/cloudwatch.py): the template's alarms, fed what local mode
observes and evaluated every 10 s, print ALARM and OK lines, keep their state in CloudWatch (read with
the SDK on the AWS endpoint) and publish to the alarm topic. Bad tokens page no one; a route that
fails for a customer and a tracking that fails for good do. A local mode of its own: an alarm stays
in ALARM for its 5-minute window, which would leak into other tests."""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest
import websockets

from local.aws.services import local_client
from local.cli.launcher import LocalModeProcess
from tests.support.aio import run

pytestmark = pytest.mark.e2e

EVALUATION = 10  # seconds between evaluations: local mode's default


@pytest.fixture(scope="module")
def alarming(cdk_out):
    process = LocalModeProcess("--min-delay", "1", "--max-delay", "1").start()
    yield process
    process.faults({"dynamodb": 0})
    process.stop()


def alarm_lines(process: LocalModeProcess, after: int = 0) -> list[str]:
    return [line for line in process.lines[after:] if re.match(r"^[\d:.]+ ALARM ", line)]


def wait_for_alarm(process: LocalModeProcess, name: str, after: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [line for line in alarm_lines(process, after) if f"ALARM    Monitoring{name}" in line]
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no ALARM line for {name} within {timeout} s:\n" + "\n".join(process.lines[-15:]))


def states(process: LocalModeProcess) -> dict[str, str]:
    """Every alarm's state, as `aws cloudwatch describe-alarms` on the local AWS endpoint reads it."""
    alarms = local_client(process.aws_url, "cloudwatch").describe_alarms()["MetricAlarms"]
    return {re.sub(r"^Monitoring|[0-9A-F]{8}$", "", a["AlarmName"]): a["StateValue"] for a in alarms}


def test_1_twenty_bad_tokens_set_off_no_alarm(alarming):
    mark = len(alarming.lines)
    base = alarming.ws_url.split("?", 1)[0]

    async def refused() -> list[int]:
        statuses = []
        for i in range(20):
            try:
                async with websockets.connect(f"{base}/?token=forged-{i}", open_timeout=10):
                    statuses.append(101)
            except websockets.InvalidStatus as refusal:
                statuses.append(refusal.response.status_code)
        return statuses

    assert run(refused()) == [403] * 20
    time.sleep(EVALUATION + 3)
    assert alarm_lines(alarming, mark) == []
    assert states(alarming)["AuthorizerErrors"] == "OK"
    assert "ALARM" not in states(alarming).values()


def test_2_a_dynamodb_fault_on_track_order_fires_the_route_failure_alarm_and_notifies_the_topic(alarming):
    sqs = local_client(alarming.aws_url, "sqs")
    sns = local_client(alarming.aws_url, "sns")
    (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"] if "AlarmTopic" in t["TopicArn"]]
    inbox = sqs.create_queue(QueueName="alarm-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    mark = len(alarming.lines)

    async def failing_track() -> dict:
        async with websockets.connect(alarming.ws_url) as ws:
            alarming.faults({"dynamodb": 1.0})
            try:
                await ws.send(json.dumps({"type": "track_order", "orderId": "ZX-1001"}))
                return json.loads(await asyncio.wait_for(ws.recv(), 15))
            finally:
                alarming.faults({"dynamodb": 0})

    started = time.monotonic()
    assert run(failing_track())["code"] == "internal"
    line = wait_for_alarm(alarming, "RouteErrors", mark, timeout=30)
    assert time.monotonic() - started < 30
    assert "Threshold Crossed" in line and "greater than or equal to the threshold (1)" in line
    assert states(alarming)["RouteErrors"] == "ALARM"
    assert states(alarming)["EmitServerErrors"] == "OK"  # a DynamoDB fault is no @connections 5xx
    messages = sqs.receive_message(QueueUrl=inbox, WaitTimeSeconds=5, MaxNumberOfMessages=10).get("Messages", [])
    notices = [json.loads(json.loads(m["Body"])["Message"]) for m in messages]
    assert any(n["AlarmName"].startswith("MonitoringRouteErrors") and n["NewStateValue"] == "ALARM" for n in notices)


def test_3_a_dead_lettered_tracking_fires_the_dead_letter_alarm(alarming):
    """ZX-1003's second event is emitted 1 s after the first: with every DynamoDB call of the handlers
    failing, each emit attempt fails, the state machine's retries are spent and the tracking lands
    on the dead-letter queue."""
    mark = len(alarming.lines)

    sfn = local_client(alarming.aws_url, "stepfunctions")
    (machine,) = sfn.list_state_machines()["stateMachines"]

    def started(tracking_id: str) -> bool:
        """Whether the tracking's execution runs: track_order has finished (only the emits are left)."""
        executions = sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
        return any(e["name"] == tracking_id for e in executions)

    async def tracked_then_failing() -> None:
        async with websockets.connect(alarming.ws_url) as ws:
            await ws.send(json.dumps({"type": "track_order", "orderId": "ZX-1003"}))
            first = json.loads(await asyncio.wait_for(ws.recv(), 15))
            assert first["seq"] == 1
            while not await asyncio.to_thread(started, first["trackingId"]):
                await asyncio.sleep(0.02)
            alarming.faults({"dynamodb": 1.0})

    try:
        run(tracked_then_failing())
        wait_for_alarm(alarming, "DeadLetters", mark, timeout=90)
        wait_for_alarm(alarming, "ExecutionsFailed", mark, timeout=EVALUATION + 5)
    finally:
        alarming.faults({"dynamodb": 0})
    assert states(alarming)["DeadLetters"] == "ALARM"
