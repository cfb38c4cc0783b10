"""The publish path of live orders in the synthesized stack (issue 18): a bus of the stack's own, a
rule to the publish function with somewhere for every publish that does not make it, IAM that lets a
backend publish and nothing else, and the outputs a backend needs."""

from __future__ import annotations

import json

import pytest

from tests.infra.test_template import resources


@pytest.fixture(scope="module")
def raw(stack) -> dict:
    return stack.template


def only(raw: dict, kind: str) -> tuple[str, dict]:
    ((logical_id, resource),) = resources(raw, kind).items()
    return logical_id, resource["Properties"]


def logical_id_of(raw: dict, kind: str, prefix: str) -> str:
    (found,) = [lid for lid in resources(raw, kind) if lid.startswith(prefix)]
    return found


def test_the_stack_has_a_bus_of_its_own_named_after_it(raw):
    _, bus = only(raw, "AWS::Events::EventBus")
    assert bus["Name"] == "OrderTracking-dev-orders"


def test_the_rule_sends_status_changes_on_the_bus_to_the_publish_function_and_failures_to_the_queue(raw):
    bus = logical_id_of(raw, "AWS::Events::EventBus", "PublishingBus")
    function = logical_id_of(raw, "AWS::Lambda::Function", "HandlersPublishFunction")
    queue = logical_id_of(raw, "AWS::SQS::Queue", "PublishingPublishFailures")
    rule_id, rule = only(raw, "AWS::Events::Rule")
    assert rule["EventBusName"] == {"Ref": bus}
    assert rule["EventPattern"] == {"detail-type": ["Order Status Changed"]}
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function, "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}  # EventBridge could not invoke it
    # EventBridge may invoke the function from this rule only.
    permissions = [p["Properties"] for p in resources(raw, "AWS::Lambda::Permission").values()]
    (allowed,) = [p for p in permissions if p["Principal"] == "events.amazonaws.com"]
    assert allowed["FunctionName"] == {"Fn::GetAtt": [function, "Arn"]}
    assert allowed["SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}
    # The function's own failures (retries spent) go to the same queue.
    _, config = only(raw, "AWS::Lambda::EventInvokeConfig")
    assert config["FunctionName"] == {"Ref": function}
    assert config["MaximumRetryAttempts"] == 2
    assert config["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [queue, "Arn"]}}}
    # And EventBridge may put what it could not deliver there.
    policies = [p["Properties"]["PolicyDocument"] for p in resources(raw, "AWS::SQS::QueuePolicy").values()]
    assert any(
        s.get("Principal") == {"Service": "events.amazonaws.com"} and s["Action"] == "sqs:SendMessage"
        for policy in policies
        for s in policy["Statement"]
    )


def test_a_backend_may_publish_on_the_bus_and_do_nothing_else(raw):
    bus = logical_id_of(raw, "AWS::Events::EventBus", "PublishingBus")
    _, policy = only(raw, "AWS::IAM::ManagedPolicy")
    assert policy["PolicyDocument"]["Statement"] == [
        {"Action": "events:PutEvents", "Effect": "Allow", "Resource": {"Fn::GetAtt": [bus, "Arn"]}}
    ]
    # No function may publish (the bus is the backends'), and no client route leads there.
    statements = [s for p in resources(raw, "AWS::IAM::Policy").values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert not [s for s in statements if "events:PutEvents" in json.dumps(s["Action"])]
    routes = {r["Properties"]["RouteKey"] for r in resources(raw, "AWS::ApiGatewayV2::Route").values()}
    assert routes == {"$connect", "$disconnect", "$default", "track_order", "ping"}


def test_the_publish_function_may_make_exactly_the_calls_it_makes(raw):
    role = logical_id_of(raw, "AWS::IAM::Role", "HandlersPublishFunctionRole")
    (policy,) = [
        p["Properties"] for p in resources(raw, "AWS::IAM::Policy").values() if p["Properties"]["Roles"] == [{"Ref": role}]
    ]
    granted = {}
    for statement in policy["PolicyDocument"]["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        granted[json.dumps(statement["Resource"])] = sorted(actions)
    tables = {prefix: logical_id_of(raw, "AWS::DynamoDB::Table", prefix) for prefix in ("TablesOrders", "TablesWatchers")}
    assert granted[json.dumps({"Fn::GetAtt": [tables["TablesOrders"], "Arn"]})] == ["dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert granted[json.dumps({"Fn::GetAtt": [tables["TablesWatchers"], "Arn"]})] == [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
    ]
    assert ["execute-api:ManageConnections"] in granted.values()
    assert not any(a.startswith(("dynamodb:Scan", "dynamodb:Delete")) for k, v in granted.items() if "Orders" in k for a in v)


def test_the_outputs_say_what_a_backend_needs(raw):
    outputs = raw["Outputs"]
    bus = logical_id_of(raw, "AWS::Events::EventBus", "PublishingBus")
    assert outputs["EventBusName"]["Value"] == {"Ref": bus}
    assert "Ref" in outputs["PublisherPolicyArn"]["Value"]
    example = outputs["PublishExample"]["Value"]["Fn::Join"][1]
    assert example[0].startswith("aws events put-events --entries '") and example[1] == {"Ref": bus}
    entries = json.loads(
        "".join(p if isinstance(p, str) else "BUS" for p in example).removeprefix("aws events put-events --entries ")[1:-1]
    )
    (entry,) = entries
    assert entry["EventBusName"] == "BUS" and entry["DetailType"] == "Order Status Changed"
    assert set(json.loads(entry["Detail"])) == {"orderId", "customerId", "type", "label", "status", "idempotencyKey"}


def test_refused_and_failed_publishes_raise_an_alarm(raw):
    queue = logical_id_of(raw, "AWS::SQS::Queue", "PublishingPublishFailures")
    alarms = [a["Properties"] for a in resources(raw, "AWS::CloudWatch::Alarm").values()]
    (alarm,) = [
        a for a in alarms if a.get("Dimensions") == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
    ]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible" and alarm["Threshold"] == 1
