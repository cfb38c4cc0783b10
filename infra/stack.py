"""The order-tracking stack, top to bottom as the architecture reads."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.authentication import Authentication
from infra.compliance import acknowledge, acknowledge_stack_findings
from infra.config import StackConfig
from infra.handler_function import HandlerFunctions
from infra.hosted_client import HostedClient
from infra.monitoring import Monitoring
from infra.realtime_api import RealtimeApi
from infra.seed_orders import SeedOrders
from infra.tables import Tables
from infra.tracking_workflow import TrackingWorkflow


class OrderTrackingStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, **kwargs) -> None:
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
            "RETENTION_HOURS": str(config.retention_hours),
        }
        management_env = {"CONNECTIONS_ENDPOINT": api.connections_endpoint}

        # Reserved concurrency (only when configured) caps emit, which otherwise scales with every
        # running tracking, so that bursts cannot starve the route handlers. Lambda refuses a reservation
        # that leaves the account under its minimum unreserved concurrency, so no stage reserves by default.
        emit = functions.add(
            "EmitFunction",
            "emit",
            {**common_env, **management_env},
            reserved_concurrency=config.emit_reserved_concurrency,
        )
        dead_letters = sqs.Queue(
            self,
            "FailedTrackings",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=removal,
        )
        acknowledge(dead_letters, "SQS3", "This queue is the dead-letter queue: failed executions land here.")
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
        disconnect = functions.add("DisconnectFunction", "disconnect", common_env)
        track_order = functions.add(
            "TrackOrderFunction",
            "track_order",
            {
                **common_env,
                **management_env,
                "ORDERS_TABLE": tables.orders.table_name,
                "STATE_MACHINE_ARN": workflow.state_machine.state_machine_arn,
                "MIN_DELAY_SECONDS": str(config.min_delay_seconds),
                "MAX_DELAY_SECONDS": str(config.max_delay_seconds),
            },
        )
        ping = functions.add("PingFunction", "ping", {})
        default = functions.add("DefaultFunction", "default", {})

        self._grant_least_privilege(
            tables=tables, workflow=workflow, api=api, connect=connect, disconnect=disconnect, track_order=track_order, emit=emit
        )

        api_id = self.get_logical_id(api.api.node.default_child)
        acknowledge(
            self,
            f"IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<{api_id}>/{config.stage}/*/@connections/*]",
            "Connection ids are created at run time; the grant is limited to this API, this stage and the @connections path.",
        )
        emit_id = self.get_logical_id(emit.node.default_child)
        acknowledge(
            workflow,
            f"IAM5[Resource::<{emit_id}.Arn>:*]",
            "CDK's LambdaInvoke grants the emit function and its versions (FunctionName:*); no other function.",
        )
        connections_id = self.get_logical_id(tables.connections.node.default_child)
        acknowledge(
            self,
            f"IAM5[Resource::<{connections_id}.Arn>/index/*]",
            "CDK's Table.grant covers a table's indexes as index/*; the connections table has one "
            "(byCustomer, which $connect queries to enforce the per-customer cap).",
        )
        acknowledge_stack_findings(self)

        api.add_route("$connect", connect, authorizer=auth.authorizer)
        api.add_route("$disconnect", disconnect)
        api.add_route("track_order", track_order, return_response=True)
        api.add_route("ping", ping, return_response=True)
        api.add_route("$default", default, return_response=True)

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
                "Authorizer": auth.function,
            },
            state_machine=workflow.state_machine,
            tables={"Connections": tables.connections, "Trackings": tables.trackings, "Orders": tables.orders},
            dead_letters=dead_letters,
            api_id=api.api.api_id,
            alarm_email=config.alarm_email,
        )

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
        CfnOutput(self, "SigningSecretArn", value=auth.signing_secret.secret_arn, description="make token reads it")
        CfnOutput(self, "DashboardName", value=monitoring.dashboard.dashboard_name)
        CfnOutput(self, "AlarmTopicArn", value=monitoring.topic.topic_arn, description="subscribe to be told of alarms")
        CfnOutput(self, "DeadLetterQueueUrl", value=dead_letters.queue_url, description="failed trackings")

    @staticmethod
    def _grant_least_privilege(*, tables, workflow, api, connect, disconnect, track_order, emit) -> None:
        """Each function gets the calls it makes, on the tables it touches."""
        tables.connections.grant(connect, "dynamodb:PutItem", "dynamodb:Query")
        tables.connections.grant(disconnect, "dynamodb:DeleteItem")
        tables.trackings.grant(disconnect, "dynamodb:UpdateItem")
        tables.connections.grant(track_order, "dynamodb:GetItem", "dynamodb:UpdateItem")
        tables.trackings.grant(track_order, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
        tables.orders.grant(track_order, "dynamodb:GetItem")
        tables.trackings.grant(emit, "dynamodb:GetItem", "dynamodb:UpdateItem")
        tables.connections.grant(emit, "dynamodb:UpdateItem")  # the send lease
        workflow.state_machine.grant_start_execution(track_order)
        api.stage.grant_management_api_access(emit)
        api.stage.grant_management_api_access(track_order)
