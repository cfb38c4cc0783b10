"""Handlers in-process against moto (`mock_aws`), with the environment the template gives them, and a
real local management API whose connections record what they receive."""

from __future__ import annotations

import json
import os
import types
import uuid
from collections import Counter
from typing import Any

import boto3
import pytest
from moto import mock_aws
from order_tracking.aws import clients as aws_clients
from order_tracking.runtime import settings
from order_tracking.wire.publish import DETAIL_TYPE

from local.aws.services import provision
from local.template.stack import SynthesizedStack
from publish.statuses import status_change
from tests.support.events import websocket_event
from tests.support.recording import RecordingManagementApi

SIGNING_SECRET = "unit-test-signing-secret-of-sufficient-length"


@pytest.fixture(scope="session")
def management_api():
    api = RecordingManagementApi()
    yield api
    api.stop()


def _handler_environment(stack: SynthesizedStack, endpoint: str) -> dict[str, str]:
    """The union of the functions' template environments, the management API pointed at `endpoint`."""
    callback_url = stack.websocket_api().callback_url
    env: dict[str, str] = {}
    for function in stack.functions().values():
        for key, value in function.environment.items():
            env[key] = endpoint if value == callback_url else value
    return env


@pytest.fixture
def aws(stack: SynthesizedStack, management_api: RecordingManagementApi, monkeypatch):
    """moto with the stack's tables, seed orders and state machine (not executed: see tests/workflow)."""
    for key, value in _handler_environment(stack, management_api.endpoint).items():
        monkeypatch.setenv(key, value)
    aws_clients.reset()
    settings.reset()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": False}}):
        provision(stack, boto3.client, SIGNING_SECRET)
        (machine,) = stack.state_machines()
        yield types.SimpleNamespace(
            dynamodb=boto3.resource("dynamodb"),
            sfn=boto3.client("stepfunctions"),
            env=dict(os.environ),
            state_machine_arn=machine.arn,
        )
    aws_clients.reset()
    settings.reset()


class Routes:
    """Calls the route handlers the way API Gateway would."""

    def __init__(self, management_api: RecordingManagementApi) -> None:
        self.management_api = management_api

    def call(
        self, route_key: str, connection_id: str, body: Any = None, customer: str | None = None, received_at: int | None = None
    ) -> dict[str, Any]:
        from handlers import connect, default, disconnect, ping, track_order

        handler = {
            "$connect": connect.handler,
            "$disconnect": disconnect.handler,
            "track_order": track_order.handler,
            "ping": ping.handler,
            "$default": default.handler,
        }[route_key]
        authorizer = {"customerId": customer, "principalId": customer} if customer else None
        return handler(websocket_event(route_key, connection_id, body, authorizer, received_at), LambdaContextStub())

    def connect(self, connection_id: str, customer: str | None = None):
        recorder = self.management_api.open(connection_id)
        assert self.call("$connect", connection_id, customer=customer) == {"statusCode": 200}
        return recorder

    def track(self, connection_id: str, order_id: str, resume: dict | None = None, customer: str | None = None) -> dict[str, Any]:
        body = {"type": "track_order", "orderId": order_id}
        if resume:
            body["resume"] = resume
        return self.call("track_order", connection_id, json.dumps(body), customer=customer)

    def publish(self, detail: Any) -> dict[str, Any]:
        """What the stack's EventBridge rule hands the publish function for a backend's publish."""
        from handlers import publish

        return publish.handler(eventbridge_event(detail), LambdaContextStub())


def eventbridge_event(detail: Any) -> dict[str, Any]:
    """An event as EventBridge delivers it to a rule's Lambda target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": "shop.backend",
        "account": "123456789012",
        "time": "2026-12-01T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def status(order_id: str, type_: str = "order_created", **options: Any) -> dict[str, str]:
    """A publish's detail: `type_` with the label and status the seed orders give it (as make publish sends)."""
    return status_change(order_id, type_, **options)


class LambdaContextStub:
    function_name = "test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "test-request"


@pytest.fixture
def routes(aws, management_api) -> Routes:
    return Routes(management_api)


def reply_frame(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["statusCode"] == 200
    return json.loads(reply["body"])


@pytest.fixture
def emf(capsys):
    """The handlers' metrics as the EMF lines they print: reads what was printed since the last call,
    as ({metric name: summed value}, the namespaces)."""

    def read() -> tuple[Counter, set[str]]:
        totals, namespaces = Counter(), set()
        for line in capsys.readouterr().out.splitlines():
            if not line.startswith("{") or '"_aws"' not in line:
                continue
            blob = json.loads(line)
            for directive in blob["_aws"]["CloudWatchMetrics"]:
                namespaces.add(directive["Namespace"])
                for metric in directive["Metrics"]:
                    value = blob[metric["Name"]]
                    totals[metric["Name"]] += sum(value) if isinstance(value, list) else value
        return totals, namespaces

    return read
