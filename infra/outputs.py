"""The stack's outputs: what a user opens, and what `make token`, `make smoke` and a shop's backend read
from the deployed stack."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack

from infra.authentication import Authentication
from infra.config import StackConfig
from infra.hosted_client import HostedClient
from infra.monitoring import Monitoring
from infra.order_publishing import OrderPublishing
from infra.realtime_api import RealtimeApi
from infra.tables import Tables
from infra.tracking_workflow import TrackingWorkflow


def add_outputs(
    stack: Stack,
    config: StackConfig,
    *,
    api: RealtimeApi,
    workflow: TrackingWorkflow,
    tables: Tables,
    auth: Authentication,
    client: HostedClient,
    monitoring: Monitoring,
    publishing: OrderPublishing,
) -> None:
    CfnOutput(stack, "ClientUrl", value=client.url, description="open this page (add ?token=… from make token)")
    CfnOutput(stack, "WebSocketUrl", value=api.stage.url, description="wss:// endpoint for the client")
    CfnOutput(
        stack,
        "EventDelaySeconds",
        value=f"{config.min_delay_seconds}-{config.max_delay_seconds}",
        description="bounds of the wait between events (make smoke checks them)",
    )
    CfnOutput(stack, "ConnectionsEndpoint", value=api.connections_endpoint)
    CfnOutput(stack, "StateMachineArn", value=workflow.state_machine.state_machine_arn)
    CfnOutput(stack, "OrdersTableName", value=tables.orders.table_name)
    CfnOutput(stack, "ConnectionsTableName", value=tables.connections.table_name, description="make smoke reads it")
    CfnOutput(stack, "SigningSecretArn", value=auth.signing_secret.secret_arn, description="make token reads it")
    CfnOutput(stack, "DashboardName", value=monitoring.dashboard.dashboard_name)
    CfnOutput(stack, "AlarmTopicArn", value=monitoring.topic.topic_arn, description="subscribe to be told of alarms")
    CfnOutput(stack, "DeadLetterQueueUrl", value=workflow.dead_letters.queue_url, description="failed trackings")
    # What a backend needs to publish live orders (docs/publishing.md).
    bus = publishing.bus.event_bus_name
    CfnOutput(stack, "EventBusName", value=bus, description="publish order status changes here (events:PutEvents)")
    CfnOutput(
        stack,
        "PublisherPolicyArn",
        value=publishing.publisher_policy.managed_policy_arn,
        description="attach to a backend's role: it may publish on the bus and do nothing else here",
    )
    CfnOutput(
        stack,
        "PublishFailuresQueueUrl",
        value=publishing.failures.queue_url,
        description="publishes refused (with why) or failed for good",
    )
    CfnOutput(
        stack,
        "PublishExample",
        value=publishing.put_events_example(),
        description="a publish from the AWS CLI (make publish does the same)",
    )
