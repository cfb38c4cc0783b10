"""The order-tracking stack, top to bottom as the architecture reads."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.authentication import Authentication
from infra.canary import SmokeCanary
from infra.compliance import acknowledge_stack_findings
from infra.config import StackConfig
from infra.dead_letters import dead_letter_queue
from infra.handler_function import HandlerFunctions
from infra.hosted_client import HostedClient
from infra.monitoring import Monitoring
from infra.order_publishing import OrderPublishing
from infra.realtime_api import RealtimeApi
from infra.seed_orders import SeedOrders
from infra.tables import Tables
from infra.tracking_workflow import EMIT_TIMEOUT_SECONDS, TrackingWorkflow

# Function timeouts beyond the default 10 s (docs/operations.md has each function's time budget). A
# route's must stay under API Gateway's 29 s integration timeout.
TRACK_ORDER_TIMEOUT_SECONDS = 25
PUBLISH_TIMEOUT_SECONDS = 60


class OrderTrackingStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)

        # Production keeps its data and logs when the stack goes; dev cleans up after itself.
        removal = RemovalPolicy.RETAIN if config.production else RemovalPolicy.DESTROY
        retention = logs.RetentionDays.THREE_MONTHS if config.production else logs.RetentionDays.ONE_MONTH

        tables = Tables(self, "Tables", production=config.production)
        SeedOrders(
            self,
            "SeedOrders",
            table=tables.orders,
            log_group=logs.LogGroup(self, "SeedOrdersLogs", retention=retention, removal_policy=RemovalPolicy.DESTROY),
        )

        api = RealtimeApi(
            self,
            "Realtime",
            stage_name=config.stage,
            throttle_rate_limit=config.throttle_rate_limit,
            throttle_burst_limit=config.throttle_burst_limit,
            log_retention=retention,
            removal_policy=removal,
        )

        functions = HandlerFunctions(
            self,
            "Handlers",
            powertools_version=config.powertools_version,
            powertools_layer_arn=config.powertools_layer_arn,
            log_retention=retention,
            removal_policy=removal,
            metrics_namespace=config.metrics_namespace,
        )
        common_env = {
            "CONNECTIONS_TABLE": tables.connections.table_name,
            "TRACKINGS_TABLE": tables.trackings.table_name,
        }
        management_env = {"CONNECTIONS_ENDPOINT": api.connections_endpoint}
        retention_env = {"RETENTION_SECONDS": str(config.retention_hours * 3600)}
        orders_env = {"ORDERS_TABLE": tables.orders.table_name}
        watchers_env = {"WATCHERS_TABLE": tables.watchers.table_name}

        # Reserved concurrency (only when configured) caps emit, which otherwise scales with every
        # running tracking, so that bursts cannot starve the route handlers. Lambda refuses a reservation
        # that leaves the account under its minimum unreserved concurrency, so no stage reserves by default.
        emit = functions.add(
            "EmitFunction",
            "emit",
            {**common_env, **management_env},
            reserved_concurrency=config.emit_reserved_concurrency,
            timeout_seconds=EMIT_TIMEOUT_SECONDS,
        )
        dead_letters = dead_letter_queue(self, "FailedTrackings", removal_policy=removal, holds="failed executions")
        workflow = TrackingWorkflow(
            self,
            "Workflow",
            emit_function=emit,
            dead_letters=dead_letters,
            log_retention=retention,
            removal_policy=removal,
        )

        auth = Authentication(self, "Auth", functions=functions, config=config)
        connect = functions.add(
            "ConnectFunction",
            "connect",
            {**common_env, "MAX_CONNECTIONS_PER_CUSTOMER": str(config.max_connections_per_customer)},
        )
        disconnect = functions.add("DisconnectFunction", "disconnect", {**common_env, **watchers_env})
        track_order = functions.add(
            "TrackOrderFunction",
            "track_order",
            {
                **common_env,
                **management_env,
                **retention_env,
                **orders_env,
                **watchers_env,
                "STATE_MACHINE_ARN": workflow.state_machine.state_machine_arn,
                "MIN_DELAY_SECONDS": str(config.min_delay_seconds),
                "MAX_DELAY_SECONDS": str(config.max_delay_seconds),
            },
            timeout_seconds=TRACK_ORDER_TIMEOUT_SECONDS,  # a switch may wait for the previous tracking's posts
        )
        ping = functions.add("PingFunction", "ping", {})
        default = functions.add("DefaultFunction", "default", {})
        # Live orders: a backend publishes on the stack's bus; the publish function stores each event
        # and posts it to every connection watching the order.
        publishing = OrderPublishing(self, "Publishing", removal_policy=removal)
        publish = functions.add(
            "PublishFunction",
            "publish",
            {
                **management_env,
                **retention_env,
                **orders_env,
                **watchers_env,
                "PUBLISH_FAILURES_QUEUE_URL": publishing.failures.queue_url,
            },
            timeout_seconds=PUBLISH_TIMEOUT_SECONDS,  # a fan-out to many watchers
        )
        publishing.deliver_to(publish)

        tables.grant_connect(connect)
        tables.grant_disconnect(disconnect)
        tables.grant_track_order(track_order)
        tables.grant_emit(emit)
        tables.grant_publish(publish)
        workflow.grant_start(track_order)
        api.grant_post_to_connections(track_order)
        api.grant_post_to_connections(emit)
        api.grant_post_to_connections(publish)
        acknowledge_stack_findings(self)

        api.add_route("$connect", connect, authorizer=auth.authorizer)
        api.add_route("$disconnect", disconnect)
        api.add_route("track_order", track_order, return_response=True)
        api.add_route("ping", ping, return_response=True)
        api.add_route("$default", default, return_response=True)

        canary = (
            SmokeCanary(
                self,
                "Canary",
                websocket_url=api.stage.url,
                signing_secret=auth.signing_secret,
                min_delay_seconds=config.min_delay_seconds,
                max_delay_seconds=config.max_delay_seconds,
                removal_policy=removal,
            ).canary
            if config.canary
            else None
        )
        client = HostedClient(
            self,
            "Client",
            websocket_endpoint=api.api.api_endpoint,
            websocket_url=api.stage.url,
            production=config.production,
            log_retention=retention,
        )
        monitoring = Monitoring(
            self,
            "Monitoring",
            stage=config.stage,
            namespace=config.metrics_namespace,
            functions={
                "Connect": connect,
                "Disconnect": disconnect,
                "TrackOrder": track_order,
                "Ping": ping,
                "Default": default,
                "Emit": emit,
                "Publish": publish,
                "Authorizer": auth.function,
            },
            state_machine=workflow.state_machine,
            tables={
                "Connections": tables.connections,
                "Trackings": tables.trackings,
                "Orders": tables.orders,
                "Watchers": tables.watchers,
            },
            dead_letters=dead_letters,
            publish_failures=publishing.failures,
            api_id=api.api.api_id,
            alarm_email=config.alarm_email,
            canary=canary,
        )

        self._outputs(
            config,
            api=api,
            workflow=workflow,
            tables=tables,
            auth=auth,
            client=client,
            monitoring=monitoring,
            dead_letters=dead_letters,
            publishing=publishing,
        )

    def _outputs(
        self,
        config: StackConfig,
        *,
        api: RealtimeApi,
        workflow: TrackingWorkflow,
        tables: Tables,
        auth: Authentication,
        client: HostedClient,
        monitoring: Monitoring,
        dead_letters: sqs.IQueue,
        publishing: OrderPublishing,
    ) -> None:
        """What a user, `make token` and `make smoke` read from the deployed stack."""
        CfnOutput(self, "ClientUrl", value=client.url, description="open this page (add ?token=… from make token)")
        CfnOutput(self, "WebSocketUrl", value=api.stage.url, description="wss:// endpoint for the client")
        CfnOutput(
            self,
            "EventDelaySeconds",
            value=f"{config.min_delay_seconds}-{config.max_delay_seconds}",
            description="bounds of the wait between events (make smoke checks them)",
        )
        CfnOutput(self, "ConnectionsEndpoint", value=api.connections_endpoint)
        CfnOutput(self, "StateMachineArn", value=workflow.state_machine.state_machine_arn)
        CfnOutput(self, "OrdersTableName", value=tables.orders.table_name)
        CfnOutput(self, "ConnectionsTableName", value=tables.connections.table_name, description="make smoke reads it")
        CfnOutput(self, "SigningSecretArn", value=auth.signing_secret.secret_arn, description="make token reads it")
        CfnOutput(self, "DashboardName", value=monitoring.dashboard.dashboard_name)
        CfnOutput(self, "AlarmTopicArn", value=monitoring.topic.topic_arn, description="subscribe to be told of alarms")
        CfnOutput(self, "DeadLetterQueueUrl", value=dead_letters.queue_url, description="failed trackings")
        # What a backend needs to publish live orders (docs/publishing.md).
        bus = publishing.bus.event_bus_name
        CfnOutput(self, "EventBusName", value=bus, description="publish order status changes here (events:PutEvents)")
        CfnOutput(
            self,
            "PublisherPolicyArn",
            value=publishing.publisher_policy.managed_policy_arn,
            description="attach to a backend's role: it may publish on the bus and do nothing else here",
        )
        CfnOutput(
            self,
            "PublishFailuresQueueUrl",
            value=publishing.failures.queue_url,
            description="publishes refused (with why) or failed for good",
        )
        CfnOutput(
            self,
            "PublishExample",
            value=publishing.put_events_example(),
            description="a publish from the AWS CLI (make publish does the same)",
        )
