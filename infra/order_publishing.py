"""How a shop's backend tells the stack that an order moved: the stack's own EventBridge bus, a rule
that sends every "Order Status Changed" event on it to the publish function, and one queue for every
publish that did not make it (docs/publishing.md).

Publishing is `events:PutEvents` on this bus, so only IAM principals the account allows can publish
(the managed policy below is what a backend's role needs); a browser only ever has the WebSocket.

Where a publish that did not make it goes, the publish-failures queue:
- refused by the publish function (malformed, a simulated order, another customer's, the event
  limit): the function's own record, with the reason;
- failed for good in the function (a fault its two retries did not outlast): Lambda's on-failure record;
- never delivered to the function (EventBridge could not invoke it for 24 hours, or 185 attempts):
  the event itself, with EventBridge's error attributes.
"""

from __future__ import annotations

import json

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from constructs import Construct

from infra.config import StackConfig
from infra.dead_letters import dead_letter_queue
from infra.handler_function import HandlerFunctions
from infra.realtime_api import RealtimeApi
from infra.tables import Tables

# The publish's detail-type (lambdas/order_tracking/wire/publish.py's DETAIL_TYPE:
# tests/infra/test_shared_names.py proves the copies equal).
DETAIL_TYPE = "Order Status Changed"
PUBLISH_TIMEOUT_SECONDS = 60  # a fan-out to many watchers (docs/operations.md has its time budget)
ASYNC_RETRIES = 2  # Lambda's retries of a failed invocation (its default, made explicit)
MAX_EVENT_AGE = Duration.hours(6)  # a status older than this is news no more
EXAMPLE_SOURCE = "shop.backend"
EXAMPLE_DETAIL = {
    "orderId": "LV-2001",
    "customerId": "demo",
    "type": "order_sent",
    "label": "Shipped",
    "status": "active",
    "idempotencyKey": "LV-2001/shipped",
}


class OrderPublishing(Construct):
    """The bus, its rule, the publish function (stores each event and posts it to every connection
    watching the order), the publish-failures queue and the policy a backend's role needs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        functions: HandlerFunctions,
        tables: Tables,
        api: RealtimeApi,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"{stack.stack_name}-orders")
        self.failures = dead_letter_queue(
            self, "PublishFailures", removal_policy=config.removal_policy, holds="refused and failed publishes"
        )
        self.publisher_policy = iam.ManagedPolicy(
            self,
            "PublisherPolicy",
            description="Publish order status changes to the order-tracking stack (attach to a backend's role)",
            statements=[iam.PolicyStatement(actions=["events:PutEvents"], resources=[self.bus.event_bus_arn])],
        )
        self.function = functions.add(
            "PublishFunction",
            "publish",
            {
                **api.environment,
                "RETENTION_SECONDS": str(config.retention_seconds),
                **tables.environment("Orders", "Watchers"),
                "PUBLISH_FAILURES_QUEUE_URL": self.failures.queue_url,
            },
            timeout_seconds=PUBLISH_TIMEOUT_SECONDS,  # a fan-out to many watchers
        )
        self._deliver_to(self.function)
        # the append with its fan-out lease, the lease's renewal and release, a new stream over an expired one
        tables.orders.grant(self.function, "dynamodb:UpdateItem", "dynamodb:PutItem")
        tables.watchers.grant(self.function, "dynamodb:Query", "dynamodb:GetItem", "dynamodb:DeleteItem")
        api.grant_post_to_connections(self.function)

    def _deliver_to(self, function: lambda_.Function) -> None:
        """Send the bus's status events to `function`, asynchronously, with its failures to the queue."""
        function.configure_async_invoke(
            retry_attempts=ASYNC_RETRIES,
            max_event_age=MAX_EVENT_AGE,
            on_failure=destinations.SqsDestination(self.failures),
        )
        self.rule = events.Rule(
            self,
            "StatusChanged",
            event_bus=self.bus,
            description="A backend's order status change, to the publish function",
            event_pattern=events.EventPattern(detail_type=[DETAIL_TYPE]),
            targets=[targets.LambdaFunction(function, dead_letter_queue=self.failures, max_event_age=Duration.hours(24))],
        )
        # The destination grants the function sqs:SendMessage on the queue, which its own refusal records use too.

    def put_events_example(self) -> str:
        """An `aws events put-events` line that publishes EXAMPLE_DETAIL on this bus."""
        entry = {
            "EventBusName": "{bus}",
            "Source": EXAMPLE_SOURCE,
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(EXAMPLE_DETAIL, separators=(",", ":")),
        }
        entries = json.dumps([entry], separators=(",", ":")).replace("{bus}", self.bus.event_bus_name)
        return f"aws events put-events --entries '{entries}'"
