"""Time budgets: every AWS call a handler makes, and every wait for a lease, ends before the function
times out, so an invocation fails with an error of its own (and is retried, or answers `internal`)
instead of being killed by Lambda mid-write.

One AWS call, as the SDK is configured (aws/clients.py SDK_CONFIG): an attempt is at most
CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS; botocore makes MAX_ATTEMPTS of them, sleeping at most
MAX_BACKOFF_SECONDS between the two (its legacy retry mode: random() * 2 ** 0 seconds before the
first retry, 50 ms at most for DynamoDB). So a call lasts at most CALL_SECONDS.

One invocation: its deadline is when it started plus its function's timeout, less RESERVE_SECONDS.
An attempt starts only if it can end before the deadline (else OutOfTime, before anything is sent),
and a wait for a lease gives up at the deadline. After the deadline, at most a retry's backoff (then
the next attempt is refused) and the handler's own answer remain: RESERVE_SECONDS covers both, so
an invocation ends before its timeout. docs/operations.md has each function's arithmetic;
tests/infra/test_time_budgets.py checks it against these constants and the template's timeouts.

The deadline is per process: a Lambda execution environment runs one invocation at a time (the
fan-out's threads share their invocation's deadline).
"""

from __future__ import annotations

import math
import time
from typing import Any

CONNECT_TIMEOUT_SECONDS = 0.5  # a TCP connection within the region takes milliseconds
READ_TIMEOUT_SECONDS = 1.5  # DynamoDB, Step Functions, SQS, @connections answer in tens of milliseconds
MAX_ATTEMPTS = 2  # the first attempt and one retry
MAX_BACKOFF_SECONDS = 1.0  # botocore's legacy mode sleeps random() * 2 ** (retry - 1) before a retry
ATTEMPT_SECONDS = CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS
CALL_SECONDS = MAX_ATTEMPTS * ATTEMPT_SECONDS + MAX_BACKOFF_SECONDS
RESERVE_SECONDS = 2.0  # kept back from the timeout: a retry's backoff after the deadline, and the answer
CPU_ALLOWANCE_SECONDS = 0.5  # what the handler computes after the deadline (logs, metrics, its answer)

_deadline = math.inf  # time.monotonic() of the current invocation's deadline


class OutOfTime(Exception):
    """An AWS call that could not end before the invocation's deadline was not sent. (Not a botocore
    error: importing botocore here would cost ping and $default, which make no AWS call, their cold start.)"""

    def __init__(self, seconds_left: float) -> None:
        super().__init__(
            f"not sent: {seconds_left:.2f} s left before the invocation's deadline, an attempt may take {ATTEMPT_SECONDS:.1f} s"
        )


def start(context: Any) -> None:
    """The invocation starts: its deadline from the Lambda context's remaining time (none without one)."""
    global _deadline
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    _deadline = time.monotonic() + remaining() / 1000 - RESERVE_SECONDS if callable(remaining) else math.inf


def seconds_left() -> float:
    return _deadline - time.monotonic()


def epoch_ms() -> int:
    """The deadline as epoch milliseconds (a very late one without a deadline), for lease waits."""
    left = seconds_left()
    return int((time.time() + min(left, 10**9)) * 1000)


def guard(**_: Any) -> None:
    """botocore's before-send hook, called before each attempt: refuse one that cannot end in time."""
    left = seconds_left()
    if left < ATTEMPT_SECONDS:
        raise OutOfTime(left)


def worst_case_seconds(timeout_seconds: float) -> float:
    """The longest an invocation of a function with this timeout can take, by this design."""
    return timeout_seconds - RESERVE_SECONDS + MAX_BACKOFF_SECONDS + CPU_ALLOWANCE_SECONDS
