"""`make publish STACK=…` finds a deployed stack's bus from its outputs and publishes there with the
user's credentials (here moto's CloudFormation and EventBridge); a publish that is not one is refused
before anything is sent."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from publish.__main__ import main

BUS = "OrderTracking-dev-orders"


def deployed_stack() -> None:
    boto3.client("events").create_event_bus(Name=BUS)
    queue = boto3.client("sqs").create_queue(QueueName="seen")["QueueUrl"]
    arn = boto3.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events")
    events.put_rule(Name="all", EventBusName=BUS, EventPattern=json.dumps({"detail-type": ["Order Status Changed"]}))
    events.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "q", "Arn": arn}])
    template = {"Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"EventBusName": {"Value": BUS}}}
    boto3.client("cloudformation").create_stack(StackName="OrderTracking-dev", TemplateBody=json.dumps(template))


def test_make_publish_publishes_on_a_deployed_stacks_bus(capsys):
    with mock_aws():
        deployed_stack()
        assert main(["--order", "LV-2001", "--type", "order_sent", "--key", "k-1", "--stack", "OrderTracking-dev"]) == 0
        sqs = boto3.client("sqs")
        (message,) = sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName="seen")["QueueUrl"])["Messages"]
    event = json.loads(message["Body"])
    assert event["detail-type"] == "Order Status Changed"
    assert event["detail"] == {
        "orderId": "LV-2001",
        "customerId": "demo",
        "type": "order_sent",
        "label": "Shipped",
        "status": "active",
        "idempotencyKey": "k-1",
    }
    # The stack's orders table is not among this stack's outputs: what became of the publish is not
    # seen, so it is said to be sent, not published.
    assert f"sent LV-2001 order_sent ('Shipped', active) on {BUS}; not seen stored yet" in capsys.readouterr().out


def test_a_publish_that_is_not_one_is_refused_before_it_is_sent(capsys):
    with mock_aws():
        deployed_stack()
        assert main(["--order", "LV 2001", "--type", "order_sent", "--status", "shipped", "--stack", "OrderTracking-dev"]) == 2
        sqs = boto3.client("sqs")
        assert "Messages" not in sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName="seen")["QueueUrl"])
    assert "not published: invalid field(s): orderId, status" in capsys.readouterr().err


def test_a_stack_without_the_publish_path_says_so(capsys):
    with mock_aws():
        template = {"Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}}, "Outputs": {}}
        boto3.client("cloudformation").create_stack(StackName="OrderTracking-old", TemplateBody=json.dumps(template))
        assert main(["--order", "LV-2001", "--type", "order_sent", "--stack", "OrderTracking-old"]) == 1
    assert "no EventBusName output" in capsys.readouterr().err
