"""What an operator watches: a CloudWatch dashboard and the alarms that say something is wrong,
sent to an SNS topic (and to an email address when `alarmEmail` is set in context).

The application metrics are the handlers' Powertools metrics (EMF) in the stage's namespace, with
the dimension `service` = order-tracking; their names are lambdas/order_tracking/runtime/observability.py's.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_synthetics as synthetics
from constructs import Construct

from infra.compliance import acknowledge
from infra.config import StackConfig
from infra.handler_function import SERVICE_NAME
from infra.order_publishing import OrderPublishing
from infra.realtime_api import RealtimeApi
from infra.tables import Tables
from infra.tracking_workflow import TrackingWorkflow

PERIOD = Duration.minutes(5)
# The dashboard lists the functions in the order a connection meets them, then the workflow's, the
# publishing's and the authorizer (a function not named here comes last).
DASHBOARD_ORDER = ["Connect", "Disconnect", "TrackOrder", "Ping", "Default", "Emit", "Publish", "Authorizer"]
RETRIED_ON_ERROR = {"Emit", "Publish"}  # the functions whose errors are retried, by Step Functions or Lambda
TABLE_OPERATIONS = [
    dynamodb.Operation.GET_ITEM,
    dynamodb.Operation.PUT_ITEM,
    dynamodb.Operation.UPDATE_ITEM,
    dynamodb.Operation.DELETE_ITEM,
    dynamodb.Operation.QUERY,
]


def _in_dashboard_order(functions: dict[str, lambda_.Function]) -> dict[str, lambda_.Function]:
    def place(name: str) -> int:
        return DASHBOARD_ORDER.index(name) if name in DASHBOARD_ORDER else len(DASHBOARD_ORDER)

    return {name: functions[name] for name in sorted(functions, key=place)}


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        functions: dict[str, lambda_.Function],
        api: RealtimeApi,
        workflow: TrackingWorkflow,
        tables: Tables,
        publishing: OrderPublishing,
        canary: synthetics.Canary | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stage = config.stage
        alarm_email = config.alarm_email
        self.namespace = config.metrics_namespace
        functions = _in_dashboard_order(functions)
        state_machine = workflow.state_machine
        dead_letters = workflow.dead_letters
        publish_failures = publishing.failures
        self.topic = sns.Topic(self, "AlarmTopic", display_name=f"Order tracking ({stage}) alarms", enforce_ssl=True)
        acknowledge(
            self.topic,
            "SNS2",
            "Alarm notifications carry only alarm names and metric values. CloudWatch cannot publish to a "
            "topic encrypted with the AWS managed key, and a customer managed key costs $1 a month per stage.",
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self._action = cw_actions.SnsAction(self.topic)
        self.alarms: list[cw.Alarm] = []

        # A function error pages where it is a failure someone must look at: the routes and the
        # authorizer. Emit and publish raise on purpose to be retried (TransientFault, FanoutIncomplete):
        # what fails for good after the retries pages as DeadLetters, ExecutionsFailed, PublishFailures.
        for name, function in functions.items():
            if name not in RETRIED_ON_ERROR:
                self._alarm(f"{name}Errors", function.metric_errors(period=PERIOD), f"the {name} function failed")
        throttles = {f"t{i}": f.metric_throttles(period=PERIOD) for i, f in enumerate(functions.values())}
        self._alarm(
            "LambdaThrottles",
            cw.MathExpression(expression=f"SUM([{','.join(throttles)}])", using_metrics=throttles, period=PERIOD),
            "a function was throttled (account concurrency or reserved concurrency reached)",
        )
        self._alarm("ExecutionsFailed", state_machine.metric_failed(period=PERIOD), "a tracking execution failed")
        self._alarm("ExecutionsTimedOut", state_machine.metric_timed_out(period=PERIOD), "a tracking execution timed out")
        self._alarm(
            "EmitServerErrors",
            self.app_metric("ManagementApiErrors"),
            "posting to a connection answered 5xx (the emit step retries)",
        )
        # A route that fails answers the client an `internal` error and returns normally, so Lambda's
        # Errors metric never sees it: the handlers count it themselves.
        self._alarm(
            "RouteErrors",
            self.app_metric("Errors"),
            "a route failed for a customer: the client got an `internal` error, or $connect a 500",
        )
        for name, table in tables.by_name.items():
            self._alarm(
                f"{name}Throttles",
                table.metric_throttled_requests_for_operations(operations=TABLE_OPERATIONS, period=PERIOD),
                f"DynamoDB throttled requests on the {name} table",
            )
        self._alarm(
            "DeadLetters",
            dead_letters.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
            "a tracking failed for good; its execution id is in the dead-letter queue",
        )
        self._alarm(
            "PublishFailures",
            # Minimum: the queue held a record at every sample of the period. A record read within
            # minutes (the smoke check's own refused publish, deleted in seconds) pages no one.
            publish_failures.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Minimum"),
            "a backend's publish was refused or failed for good and its record has waited on the publish-failures "
            "queue for a whole period; the queue says why",
        )
        if canary is not None:
            self._alarm(
                "CanaryFailed",
                canary.metric_success_percent(period=PERIOD, statistic="Minimum"),
                "a run of the smoke canary failed: a check that needs only the endpoint failed (its log says which)",
                threshold=100,
                comparison=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
            )

        # Dashboard names are account-wide, not regional: the region keeps the same stage deployable in two.
        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"OrderTracking-{stage}-{Aws.REGION}")
        dimensions = {"ApiId": api.api.api_id, "Stage": stage}

        def gateway_metric(name: str) -> cw.Metric:
            return cw.Metric(
                namespace="AWS/ApiGateway", metric_name=name, dimensions_map=dimensions, statistic="Sum", period=PERIOD
            )

        self.dashboard.add_widgets(
            self._graph(
                "Connections and trackings",
                "ConnectionsOpened",
                "ConnectionsRefused",
                "ConnectionsUnauthorized",
                "TrackingsStarted",
                "TrackingsResumed",
            ),
            self._graph("Events", "EventsEmitted", "EventsReplayed", "ConnectionsGone", "EmitsFenced", "EmitsRepeated"),
            self._graph("Errors", "Errors", "ManagementApiErrors", "EmitRetries"),
        )
        self.dashboard.add_widgets(
            self._graph("Live orders", "EventsPublished", "LiveEventsSent", "PublishesRepeated", "PublishesRefused"),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Lambda errors", left=[f.metric_errors(period=PERIOD, label=n) for n, f in functions.items()]),
            cw.GraphWidget(
                title="Lambda duration p99",
                left=[f.metric_duration(period=PERIOD, statistic="p99", label=n) for n, f in functions.items()],
            ),
            cw.GraphWidget(
                title="Tracking executions",
                left=[
                    state_machine.metric_started(period=PERIOD),
                    state_machine.metric_succeeded(period=PERIOD),
                    state_machine.metric_failed(period=PERIOD),
                    state_machine.metric_timed_out(period=PERIOD),
                ],
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="WebSocket API",
                left=[gateway_metric(m) for m in ("ConnectCount", "MessageCount")],
                right=[gateway_metric(m) for m in ("ClientError", "ExecutionError", "IntegrationError")],
            ),
            cw.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=12),
        )
        self._let_alarms_publish()

    def _let_alarms_publish(self) -> None:
        """`enforce_ssl` gives the topic a policy of its own, which replaces SNS's default one (the one
        that lets the account's services publish), and an alarm action adds no permission. Without
        this statement CloudWatch is refused sns:Publish and every alarm is silent."""
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisStacksAlarms",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnEquals": {"aws:SourceArn": [alarm.alarm_arn for alarm in self.alarms]},
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )

    def app_metric(self, name: str) -> cw.Metric:
        return cw.Metric(
            namespace=self.namespace, metric_name=name, dimensions_map={"service": SERVICE_NAME}, statistic="Sum", period=PERIOD
        )

    def _graph(self, title: str, *names: str) -> cw.GraphWidget:
        return cw.GraphWidget(title=title, left=[self.app_metric(n) for n in names], width=8)

    def _alarm(
        self,
        construct_id: str,
        metric: cw.IMetric,
        description: str,
        *,
        threshold: float = 1,
        comparison: cw.ComparisonOperator = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) -> None:
        alarm = cw.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=comparison,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        self.alarms.append(alarm)
