"""The publish path in local mode as the template builds it (bus, rule, target), refusing what AWS
refuses: PutEvents needs events:PutEvents on the bus; a function whose resource-based policy does not
let EventBridge (or API Gateway) invoke it is not invoked; an invocation that keeps failing ends on
its on-failure destination, sent with the function's own role."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
import websockets
from botocore.exceptions import ClientError

from local.aws.lambda_async import RETRY_DELAYS_SECONDS
from local.cli.tokens import mint, with_token
from local.gateway.websocket import WebSocketGateway
from local.iam.resource_policies import APIGATEWAY_PRINCIPAL, LambdaPermissions, authorizer_source_arn, route_source_arn
from local.template.stack import SynthesizedStack
from publish.statuses import status_change
from tests.localmode.test_iam import role_of, signed_as
from tests.support.aio import run
from tests.support.local_stack import SIGNING_SECRET, running_stack

DETAIL_TYPE = "Order Status Changed"


def bus_of(stack: SynthesizedStack) -> str:
    (bus,) = stack.event_buses()
    return bus


def put(events, stack: SynthesizedStack, detail: dict) -> dict:
    entry = {"EventBusName": bus_of(stack), "Source": "shop.backend", "DetailType": DETAIL_TYPE, "Detail": json.dumps(detail)}
    answer = events.put_events(Entries=[entry])
    assert answer["FailedEntryCount"] == 0, answer
    return answer


def failures(system, wait: float = 10.0) -> list[dict]:
    """The messages on the publish-failures queue, with their attributes (waits for the first)."""
    sqs = system.aws.client("sqs")
    (queue,) = [q for q in system.stack.queues() if q.startswith("PublishingPublishFailures")]
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    deadline = time.monotonic() + wait
    while True:
        answer = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        messages = answer.get("Messages", [])
        if messages or time.monotonic() > deadline:
            return [{"body": json.loads(m["Body"]), "attributes": m.get("MessageAttributes", {})} for m in messages]


def live_order(system, order_id: str) -> dict | None:
    (orders,) = [t.name for t in system.stack.tables() if t.name.startswith("TablesOrders")]
    item = system.aws.client("dynamodb").get_item(TableName=orders, Key={"orderId": {"S": order_id}}, ConsistentRead=True)
    return item.get("Item")


def wait_for(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return found


def copy_with(cdk_out: Path, tmp_path: Path, change) -> SynthesizedStack:
    """A copy of the assembly with its template changed by `change(template)`; the assets are linked."""
    out = tmp_path / "cdk.out"
    out.mkdir()
    for entry in cdk_out.iterdir():
        if not entry.name.endswith(".template.json"):
            (out / entry.name).symlink_to(entry.resolve())
    (template_file,) = cdk_out.glob("*.template.json")
    template = json.loads(template_file.read_text())
    change(template)
    (out / template_file.name).write_text(json.dumps(template))
    return SynthesizedStack.load(out)


def without_permission(principal: str, function_hint: str):
    def change(template: dict) -> None:
        doomed = [
            lid
            for lid, r in template["Resources"].items()
            if r["Type"] == "AWS::Lambda::Permission"
            and r["Properties"]["Principal"] == principal
            and function_hint in json.dumps(r["Properties"]["FunctionName"])
        ]
        assert len(doomed) == 1, doomed
        del template["Resources"][doomed[0]]

    return change


@pytest.fixture(scope="module")
def system(stack):
    with running_stack(stack) as running:
        yield running


def test_a_publish_on_the_bus_runs_the_publish_function_and_stores_the_event(system, stack):
    put(system.aws.client("events"), stack, status_change("LV-7001", "order_created"))
    item = wait_for(lambda: live_order(system, "LV-7001"))
    assert item["kind"] == {"S": "live"} and item["customerId"] == {"S": "demo"}
    assert [e["M"]["type"]["S"] for e in item["events"]["L"]] == ["order_created"]


def test_only_a_principal_allowed_events_put_events_on_the_bus_may_publish(system, stack):
    denied_events = signed_as(system, role_of(stack, "track_order"), "events")
    entry = {
        "EventBusName": bus_of(stack),
        "Source": "s",
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(status_change("LV-7002", "order_created")),
    }
    with pytest.raises(ClientError) as refused:
        denied_events.put_events(Entries=[entry])
    error = refused.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert "events:PutEvents" in error["Message"] and f"event-bus/{bus_of(stack)}" in error["Message"]
    time.sleep(1)
    assert live_order(system, "LV-7002") is None


def test_a_refused_publish_lands_on_the_failures_queue_with_why(system, stack):
    put(system.aws.client("events"), stack, {**status_change("LV-7003", "order_sent"), "status": "shipped"})
    (record,) = failures(system)
    assert record["body"]["refused"] == {"reason": "bad_request", "detail": "invalid field(s): status"}
    assert record["body"]["event"]["detail"]["status"] == "shipped"
    assert record["attributes"]["reason"]["StringValue"] == "bad_request"
    assert live_order(system, "LV-7003") is None


def test_eventbridge_cannot_invoke_a_function_whose_policy_does_not_let_it(cdk_out, tmp_path):
    broken = copy_with(cdk_out, tmp_path, without_permission("events.amazonaws.com", "HandlersPublishFunction"))
    with running_stack(broken) as system:
        put(system.aws.client("events"), broken, status_change("LV-7004", "order_created"))
        (letter,) = failures(system)
        assert letter["body"]["detail"]["orderId"] == "LV-7004"  # the event itself, as EventBridge dead-letters it
        attributes = {k: v["StringValue"] for k, v in letter["attributes"].items()}
        assert attributes["ERROR_CODE"] == "NO_PERMISSIONS"
        assert attributes["RULE_ARN"].startswith("arn:aws:events:us-east-1:123456789012:rule/")
        assert attributes["TARGET_ARN"].endswith(":function:" + next(f for f in broken.functions() if "Publish" in f))
        assert live_order(system, "LV-7004") is None


def test_an_invocation_that_keeps_failing_is_retried_then_recorded_on_its_destination(cdk_out, tmp_path):
    def unwritable_orders(template: dict) -> None:
        """The publish function may no longer write the orders table: every attempt fails."""
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::IAM::Policy" and "HandlersPublishFunctionRole" in json.dumps(
                resource["Properties"]["Roles"]
            ):
                statements = resource["Properties"]["PolicyDocument"]["Statement"]
                resource["Properties"]["PolicyDocument"]["Statement"] = [
                    s for s in statements if "TablesOrders" not in json.dumps(s.get("Resource"))
                ]

    broken = copy_with(cdk_out, tmp_path, unwritable_orders)
    with running_stack(broken) as system:
        started = time.monotonic()
        put(system.aws.client("events"), broken, status_change("LV-7005", "order_created"))
        (record,) = failures(system, wait=sum(RETRY_DELAYS_SECONDS) + 20)
        assert time.monotonic() - started >= sum(RETRY_DELAYS_SECONDS)  # it was retried before giving up
        body = record["body"]
        assert body["requestContext"]["condition"] == "RetriesExhausted"
        assert body["requestContext"]["approximateInvokeCount"] == 3
        assert body["requestPayload"]["detail"]["orderId"] == "LV-7005"
        assert body["responsePayload"]["errorType"] == "ClientError"
        assert "dynamodb:UpdateItem" in body["responsePayload"]["errorMessage"]


def test_api_gateway_cannot_invoke_a_route_whose_function_does_not_let_it(cdk_out, tmp_path):
    """A route without its Lambda::Permission: on AWS the frame is answered "Internal server error"
    and the function never runs; the other routes work."""
    broken = copy_with(cdk_out, tmp_path, without_permission("apigateway.amazonaws.com", "HandlersPingFunction"))
    with running_stack(broken) as system:
        gateway = WebSocketGateway(
            broken.websocket_api(), system.runtime.invoke, port=0, permissions=LambdaPermissions(broken.permissions())
        )

        async def exchange() -> list[dict]:
            await gateway.start()
            try:
                url = with_token(gateway.url, mint("demo", SIGNING_SECRET))
                async with websockets.connect(url) as connection:
                    answers = []
                    for frame in ({"type": "ping"}, {"type": "dance"}):
                        await connection.send(json.dumps(frame))
                        answers.append(json.loads(await asyncio.wait_for(connection.recv(), 10)))
                    return answers
            finally:
                await gateway.stop()

        ping, dance = run(exchange())
        assert ping["message"] == "Internal server error" and "connectionId" in ping
        assert dance["code"] == "unknown_type"  # $default still may be invoked


def test_every_route_and_the_authorizer_of_the_stack_as_synthesized_may_be_invoked(stack):
    permissions = LambdaPermissions(stack.permissions())
    api = stack.websocket_api()
    for key, route in api.routes.items():
        assert permissions.allows(route.function, APIGATEWAY_PRINCIPAL, route_source_arn(api.stage_name, key)), key
        elsewhere = f"arn:aws:execute-api:us-east-1:123456789012:another-api/{api.stage_name}/{key}"
        assert not permissions.allows(route.function, APIGATEWAY_PRINCIPAL, elsewhere), key
    authorizer = api.routes["$connect"].authorizer
    assert authorizer is not None
    assert permissions.allows(authorizer.function, APIGATEWAY_PRINCIPAL, authorizer_source_arn(authorizer.authorizer_id))
