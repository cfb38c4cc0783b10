"""The Step Functions state machine: one EXPRESS execution per tracking.

Execution input (built by the track_order handler, which sends the first event itself):
    {"trackingId", "orderId", "events": [{"seq", "orderId", "type", "label", "status"}, ...], "minDelay", "maxDelay"}
    with the events from seq 2 on (an order of one event starts no execution).

    Prepare      ─ maxDelayExclusive = maxDelay + 1   (AWS's States.MathRandom excludes its end bound)
    EachEvent    ─ Map, one item at a time, in order:
        DrawDelay    delaySeconds = States.MathRandom(minDelay, maxDelayExclusive)
        WaitDelay    Wait SecondsPath $.delaySeconds
        Emit         Lambda: fenced, idempotent append + post to the tracking's connection
        Superseded?  outcome == "superseded" ─▶ Fail Tracking.Superseded (ends the Map)
    Superseded   ─ Succeed: a newer tracking owns the connection; nothing more to emit.
    DeadLetter   ─ any other failure (an emit that outlasted its retries): the execution's id, error
                   and cause go to the dead-letter queue, then the execution fails.

Why EXPRESS, not STANDARD: a tracking lasts well under the 5-minute EXPRESS limit (the config refuses
delays that could exceed it); EXPRESS bills duration where STANDARD bills each state transition: for
ZX-1001 (18 transitions) about $19 against $450 per million trackings, as measured in
docs/performance.md (bench/cost.py, bench/prices.py). We give up StopExecution
(refused on EXPRESS) and exactly-once steps (EXPRESS async is at-least-once). Neither is needed: a
superseded execution is fenced by the emit step's conditional write and ends at its next emit, and
the same write makes a repeated emit store and send its event once.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.compliance import acknowledge
from infra.config import StackConfig
from infra.dead_letters import dead_letter_queue
from infra.handler_function import HandlerFunctions
from infra.realtime_api import RealtimeApi
from infra.tables import Tables

SUPERSEDED_ERROR = "Tracking.Superseded"
# Names the emit handler uses (lambdas/ is runtime code, not imported here):
# tests/infra/test_shared_names.py proves these copies equal handlers.emit.TransientFault and
# order_tracking.simulated.lifecycle.EmitOutcome.SUPERSEDED.
TRANSIENT_ERROR = "TransientFault"  # throttling, 5xx, out of time, a lease still held: the emit says so itself
SUPERSEDED_OUTCOME = "superseded"
# Every failure of an emit that retrying may cure, in one retrier (so its worst case is one sum): the
# emit's own TransientFault, Lambda's service errors and throttling (the names AWS documents for the
# lambda:invoke integration), and the function timing out. The emit is idempotent: retrying an emit
# that stored its event, or even posted it, stores and sends nothing twice.
RETRIED_ERRORS = [
    TRANSIENT_ERROR,
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.TooManyRequestsException",
    "Sandbox.Timedout",
]
EMIT_RETRIES = 4  # after the first attempt; waits of at most 1, 2, 4 and 4 s (full jitter)
EMIT_TIMEOUT_SECONDS = 12  # its wait for a send lease ends at its deadline (lambdas/order_tracking/runtime/deadline.py)
VENDED_LOGS_PREFIX = "/aws/vendedlogs/states/"


class TrackingWorkflow(Construct):
    """The state machine, its emit function and its dead-letter queue (failed trackings)."""

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
        # Reserved concurrency (only when configured) caps emit, which otherwise scales with every
        # running tracking, so that bursts cannot starve the route handlers. Lambda refuses a reservation
        # that leaves the account under its minimum unreserved concurrency, so no stage reserves by default.
        self.emit = functions.add(
            "EmitFunction",
            "emit",
            {**tables.environment("Connections", "Trackings"), **api.environment},
            reserved_concurrency=config.emit_reserved_concurrency,
            timeout_seconds=EMIT_TIMEOUT_SECONDS,
        )
        tables.trackings.grant(self.emit, "dynamodb:UpdateItem")  # the append with its send lease, the release
        api.grant_post_to_connections(self.emit)
        # Made in the stack's scope, where it always was: its logical ID must not move (test_logical_ids.py).
        self.dead_letters = dead_letter_queue(
            Stack.of(self), "FailedTrackings", removal_policy=config.removal_policy, holds="failed executions"
        )

        prepare = sfn.Pass(
            self,
            "Prepare",
            parameters={
                "trackingId.$": "$.trackingId",
                "events.$": "$.events",
                "minDelay.$": "$.minDelay",
                "maxDelayExclusive.$": "States.MathAdd($.maxDelay, 1)",
            },
        )

        emit = tasks.LambdaInvoke(
            self,
            "Emit",
            lambda_function=self.emit,
            payload=sfn.TaskInput.from_object(
                {
                    "trackingId.$": "$.trackingId",
                    "executionName.$": "$$.Execution.Name",
                    "event.$": "$.event",
                }
            ),
            result_selector={"outcome.$": "$.Payload.outcome"},
            result_path="$.emit",
            retry_on_service_exceptions=False,  # in RETRIED_ERRORS, with the rest
        )
        emit.add_retry(
            errors=RETRIED_ERRORS,
            interval=Duration.seconds(1),
            backoff_rate=2,
            max_attempts=EMIT_RETRIES,
            max_delay=Duration.seconds(4),
            jitter_strategy=sfn.JitterType.FULL,
        )

        draw_delay = sfn.Pass(
            self,
            "DrawDelay",
            parameters={"seconds.$": "States.MathRandom($.minDelay, $.maxDelayExclusive)"},
            result_path="$.delay",
        )
        wait = sfn.Wait(self, "WaitDelay", time=sfn.WaitTime.seconds_path("$.delay.seconds"))
        superseded_in_map = sfn.Fail(self, "StopSuperseded", error=SUPERSEDED_ERROR, cause="a newer tracking owns the connection")
        emitted = sfn.Succeed(self, "Emitted")

        after_emit = (
            sfn.Choice(self, "Superseded?")
            .when(sfn.Condition.string_equals("$.emit.outcome", SUPERSEDED_OUTCOME), superseded_in_map)
            .otherwise(emitted)
        )
        emit.next(after_emit)
        iteration = draw_delay.next(wait).next(emit)

        each_event = sfn.Map(
            self,
            "EachEvent",
            items_path="$.events",
            max_concurrency=1,
            item_selector={
                "trackingId.$": "$.trackingId",
                "minDelay.$": "$.minDelay",
                "maxDelayExclusive.$": "$.maxDelayExclusive",
                "event.$": "$$.Map.Item.Value",
            },
            result_path=sfn.JsonPath.DISCARD,
        )
        each_event.item_processor(iteration)
        each_event.add_catch(sfn.Succeed(self, "Superseded"), errors=[SUPERSEDED_ERROR])
        dead_letter = tasks.SqsSendMessage(
            self,
            "DeadLetter",
            queue=self.dead_letters,
            message_body=sfn.TaskInput.from_object(
                {
                    "execution.$": "$$.Execution.Id",
                    "trackingId.$": "$$.Execution.Name",
                    "error.$": "$.failure.Error",
                    "cause.$": "$.failure.Cause",
                }
            ),
        )
        dead_letter.next(sfn.Fail(self, "Failed", error="Tracking.Failed", cause="an emit failed; see the dead-letter queue"))
        each_event.add_catch(dead_letter, errors=[sfn.Errors.ALL], result_path="$.failure")

        # Step Functions delivers its logs as vended logs: under /aws/vendedlogs/ the log delivery needs
        # no statement of its own in the account's CloudWatch Logs resource policy, whose size limit a
        # busy account reaches (aws-cdk#28900). The stack id's last part keeps a retained group of a
        # deleted stack from colliding with the next deploy of the same stack.
        stack_uuid = Fn.select(2, Fn.split("/", Aws.STACK_ID))
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"{VENDED_LOGS_PREFIX}{Aws.STACK_NAME}-tracking-{stack_uuid}",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(prepare.next(each_event).next(sfn.Succeed(self, "Done"))),
            state_machine_type=sfn.StateMachineType.EXPRESS,
            timeout=Duration.minutes(5),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        acknowledge(
            self.state_machine.role,
            "IAM5[Resource::*]",
            "The Step Functions log delivery actions (logs:*LogDelivery*, DescribeResourcePolicies, ...) and "
            "X-Ray (xray:PutTraceSegments, GetSamplingRules, ...) have no resource-level permissions.",
        )
        emit_id = Stack.of(self).get_logical_id(_cfn_function(self.emit))
        acknowledge(
            self,
            f"IAM5[Resource::<{emit_id}.Arn>:*]",
            "CDK's LambdaInvoke grants the emit function and its versions (FunctionName:*); no other function.",
        )

    def grant_start(self, grantee: iam.IGrantable) -> None:
        self.state_machine.grant_start_execution(grantee)


def _cfn_function(function: lambda_.IFunction) -> lambda_.CfnFunction:
    child = function.node.default_child
    assert isinstance(child, lambda_.CfnFunction)
    return child
