"""A run of the smoke suite: `connect` first (nothing else can pass without it), then the checks at
once, each on connections of its own, and `no-alarm` last, when the run can no longer set one off.
The canary runs the endpoint's checks alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from smoke import stack_checks
from smoke.checks import complete_random_and_gaps, refusals, resume, switch_and_unknown
from smoke.results import Options, Result
from smoke.session import Session
from smoke.target import DEMO_CUSTOMER_ID, Target

Check = Callable[[Target, Options], Awaitable[list[Result]]]

ENDPOINT_CHECKS: tuple[Check, ...] = (complete_random_and_gaps, switch_and_unknown, resume, refusals)
STACK_CHECKS: tuple[Check, ...] = (stack_checks.disconnect, stack_checks.live_orders, stack_checks.hosted_client)


async def run_all(target: Target, options: Options | None = None) -> list[Result]:
    """Every check; those the target cannot run say SKIP and why."""
    options = options or Options()
    results = await run_checks(target, options, ENDPOINT_CHECKS + STACK_CHECKS)
    if not results[0].passed:  # could not connect: nothing else ran
        return results
    return results + await stack_checks.no_alarm(target, options)


async def run_checks(target: Target, options: Options, checks: tuple[Check, ...]) -> list[Result]:
    """`connect`, then `checks` concurrently; a check that raises fails under its own name."""
    started = time.monotonic()
    try:
        await (await Session.open(target.url())).close()
    except Exception as error:  # any failure to connect is the answer
        return [Result("connect", "FAIL", round(time.monotonic() - started, 2), f"{type(error).__name__}: {error}")]
    results = [Result("connect", "PASS", round(time.monotonic() - started, 2), f"as {DEMO_CUSTOMER_ID}")]
    for check, found in zip(
        checks, await asyncio.gather(*(c(target, options) for c in checks), return_exceptions=True), strict=True
    ):
        if isinstance(found, BaseException):
            results.append(Result(check.__name__.replace("_", "-"), "FAIL", 0.0, f"raised {type(found).__name__}: {found}"))
        else:
            results.extend(found)
    return results
