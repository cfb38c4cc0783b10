"""A synthesized stack running in this process as local mode runs it (moto server, IAM enforced from
the template, handlers in worker processes, EventBridge rules delivering to their functions), with
`@connections` answered by a recording API."""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator

from local.aws.eventbridge import EventDelivery
from local.aws.services import LocalAws
from local.console.lines import Console
from local.iam.policies import LocalIam
from local.runtime.workers import LambdaRuntime
from local.template.stack import SynthesizedStack
from tests.support.recording import RecordingManagementApi

SIGNING_SECRET = "local-stack-test-secret-of-32-bytes-or-more"  # what the stack's authorizer checks tokens with


@contextlib.contextmanager
def running_stack(
    stack: SynthesizedStack, delay_seconds: int = 1, workers: int = 2, *, dynamodb_process: bool = False
) -> Iterator[types.SimpleNamespace]:
    iam = LocalIam.from_stack(stack)
    aws = LocalAws(iam=iam, dynamodb_process=dynamodb_process).start()
    aws.reset()  # moto's backends live in this process: start from none, whatever an earlier test left
    aws.provision(stack, secret_value=SIGNING_SECRET)
    management = RecordingManagementApi()
    aws.runtime = LambdaRuntime(
        stack.functions(),
        aws_environment=aws.environment,
        value_rewrites={stack.websocket_api().callback_url: management.endpoint},
        env_overrides={
            "MIN_DELAY_SECONDS": str(delay_seconds),
            "MAX_DELAY_SECONDS": str(delay_seconds),
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        },
        workers_per_function=workers,
        iam=iam,
    )
    routes = {key: route.function for key, route in stack.websocket_api().routes.items()}
    events = EventDelivery.start(stack, aws, aws.runtime, Console(quiet=True))
    try:
        yield types.SimpleNamespace(
            aws=aws, iam=iam, management=management, routes=routes, runtime=aws.runtime, stack=stack, events=events
        )
    finally:
        events.stop()
        management.stop()
        aws.stop()
