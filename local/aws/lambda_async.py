"""Lambda's asynchronous invocation, as an EventBridge rule invokes its target: queued, run, retried on
a function error, and sent to the on-failure destination once the retries are spent, all as the
template's AWS::Lambda::EventInvokeConfig says (Lambda's defaults where it says nothing).

- Retries: MaximumRetryAttempts (default 2). Lambda waits about a minute before the first retry
  and two before the second; local mode waits RETRY_DELAYS_SECONDS, so a test sees the whole path.
- The on-failure destination (an SQS queue here) gets Lambda's record of the invocation, sent with
  the function's own credentials, as Lambda sends it with the function's execution role: a role that
  may not send to the queue loses the record, as on AWS.
- At-least-once: Lambda may run an asynchronous event more than once. The fault plan's
  `lambda_retry` makes that happen here: the function runs again after it succeeded.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from local.console.lines import Console
from local.faults.plan import PLAN
from local.runtime.workers import Invocation, LambdaRuntime
from local.template.names import queue_url
from local.template.specs import AsyncInvokeSpec

RETRY_DELAYS_SECONDS = (1.0, 2.0)  # Lambda: about 1 and 2 minutes
DEFAULT_RETRIES = 2


class AsyncInvoker:
    def __init__(
        self,
        runtime: LambdaRuntime,
        configs: dict[str, AsyncInvokeSpec],
        sqs_as: Callable[[str], Any],
        console: Console,
        *,
        threads: int = 16,
        on_success: Callable[[dict[str, Any], Any], None] | None = None,
    ) -> None:
        """`sqs_as(function logical id)`: an SQS client signing as that function's role; `on_success(event,
        payload)`: told what an invocation that succeeded returned (the console's line about it)."""
        self.runtime = runtime
        self.configs = configs
        self._sqs_as = sqs_as
        self.console = console
        self.on_success = on_success
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="lambda-async")

    def invoke(self, function_arn: str, event: dict[str, Any]) -> None:
        """Queue the event for the function (Lambda answers 202 at once) and return."""
        self._pool.submit(self._run, function_arn, event)

    def _run(self, function_arn: str, event: dict[str, Any]) -> None:
        try:
            self._run_with_retries(function_arn, event)
        except Exception as error:  # a thread of the pool: say it, or it vanishes
            self.console.log("ERROR", f"async invoke of {function_arn}: {type(error).__name__}: {error}")

    def _run_with_retries(self, function_arn: str, event: dict[str, Any]) -> None:
        spec = self.runtime.spec(function_arn)
        config = self.configs.get(spec.logical_id) or AsyncInvokeSpec(spec.logical_id, DEFAULT_RETRIES)
        attempts = 1 + config.maximum_retry_attempts
        invocation = Invocation()
        for attempt in range(attempts):
            if attempt:
                time.sleep(RETRY_DELAYS_SECONDS[min(attempt, len(RETRY_DELAYS_SECONDS)) - 1])
            invocation = self.runtime.invoke(function_arn, event)
            if invocation.error is None:
                self._succeeded(event, invocation)
                if PLAN.strike("lambda_retry"):
                    self._succeeded(event, self.runtime.invoke(function_arn, event))  # delivered twice, as Lambda may
                return
        error = invocation.error or {}
        self.console.log(
            "ERROR",
            f"async invoke of {spec.logical_id} failed {attempts} times: {error.get('errorType')}: {error.get('errorMessage')}",
        )
        if config.on_failure:
            record = _failure_record(spec.arn, event, invocation, attempts)
            self._send_failure_record(spec.logical_id, config.on_failure, record)

    def _succeeded(self, event: dict[str, Any], invocation: Invocation) -> None:
        if self.on_success is not None and invocation.error is None:
            self.on_success(event, invocation.payload)

    def _send_failure_record(self, function: str, destination: str, record: dict[str, Any]) -> None:
        queue = destination.rsplit(":", 1)[-1]
        try:
            self._sqs_as(function).send_message(QueueUrl=queue_url(queue), MessageBody=json.dumps(record))
        except Exception as failed:  # e.g. AccessDenied: the role may not send there, and the record is lost
            self.console.log("ERROR", f"the on-failure record of {function} could not be sent to {queue}: {failed}")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _failure_record(arn: str, event: dict[str, Any], invocation: Invocation, attempts: int) -> dict[str, Any]:
    """Lambda's on-failure destination record of an asynchronous invocation whose retries are spent."""
    moment = datetime.now(UTC)
    return {
        "version": "1.0",
        "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": invocation.error,
    }
