"""Loads the demo orders into the orders table at deploy, with one SDK `PutItem` call per order.

The calls live in the template as `Custom::AWS` resources, so local mode replays exactly these calls
against its own DynamoDB. The data is `seed_orders.json`, not handler code.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.compliance import BASIC_EXECUTION_ROLE, acknowledge
from infra.seed_data import load_seed_orders

SIMULATED = "simulated"  # the item's kind, as the handlers read it (order_tracking/orders/catalog.py)


def order_item(order_id: str, customer_id: str, events: list[dict[str, str]]) -> dict[str, Any]:
    """An order as a DynamoDB item in the low-level (typed) JSON that PutItem takes."""
    return {
        "orderId": {"S": order_id},
        "customerId": {"S": customer_id},
        "kind": {"S": SIMULATED},
        "events": {"L": [{"M": {k: {"S": v} for k, v in event.items()}} for event in events]},
    }


class SeedOrders(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, table: dynamodb.ITable, log_retention: logs.RetentionDays) -> None:
        super().__init__(scope, construct_id)
        # The deploy-time calls' log, in the stack's scope where it always was: its logical ID must not
        # move (tests/infra/test_logical_ids.py). Only these deploy-time calls write to it.
        log_group = logs.LogGroup(Stack.of(self), "SeedOrdersLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY)
        owner, orders = load_seed_orders()
        policy = cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[table.table_arn])
        for order_id, events in orders.items():
            call = cr.AwsSdkCall(
                service="DynamoDB",
                action="putItem",
                parameters={"TableName": table.table_name, "Item": order_item(order_id, owner, events)},
                physical_resource_id=cr.PhysicalResourceId.of(f"seed-order-{order_id}"),
            )
            cr.AwsCustomResource(
                self,
                order_id,
                on_create=call,
                on_update=call,
                policy=policy,
                install_latest_aws_sdk=False,
                log_group=log_group,
            )
        provider = Stack.of(self).node.find_child("AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", ""))
        acknowledge(
            provider,
            BASIC_EXECUTION_ROLE,
            "AwsCustomResource's provider function (the seed orders' PutItem calls, at deploy); CDK creates its role.",
        )
