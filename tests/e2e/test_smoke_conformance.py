"""The smoke check's verdict can be trusted: against local mode it passes every check, and against a
proxy that breaks the service in one named way it fails, naming the check that saw it
(tests/support/breaking_proxy.py: a late first event, re-timed gaps with `at` rewritten to match,
late events, a stale frame after a switch, a duplicate, a dropped event, two events swapped, another
order's frame, a resume replaying twice, a resume ignored, a fan-out reaching one watcher, made-up `at` stamps, a
silent unknown order, a proxy that admits any token). A local mode of its own: the no-alarm check
must not see other tests' alarms."""

from __future__ import annotations

import asyncio

import pytest

from local.aws.services import FAKE_CREDENTIALS
from local.cli.launcher import LocalModeProcess
from local.cli.running import Running, find
from local.cli.tokens import local_signing_secret, mint
from local.template.names import REGION
from local.template.stack import SynthesizedStack
from smoke.checks import gaps_needed
from smoke.results import Options, Result
from smoke.suite import run_all
from smoke.target import Target
from tests.e2e.test_smoke import ENDPOINT_CHECKS, NEEDS_THE_STACK, make_smoke
from tests.support.aio import run
from tests.support.breaking_proxy import BREAKAGES, Breakage, BreakingProxy, Drop
from tests.support.canary_bundle import canary_resource, handler_command

pytestmark = pytest.mark.e2e

EVERY_CHECK = {*ENDPOINT_CHECKS, *NEEDS_THE_STACK}  # every check of the suite, as test_smoke.py names them


RUNS_AT_ONCE = 7  # broken services checked side by side; an unbroken one among them is the control


@pytest.fixture(scope="module")
def own_local_mode(cdk_out, monkeypatch_module) -> Running:
    process = LocalModeProcess("--min-delay", "1", "--max-delay", "2", "--max-connections-per-customer", "100").start()
    monkeypatch_module.setenv("ORDER_TRACKING_RUNNING_FILE", str(process.running_file))
    running = find()
    assert running is not None
    yield running
    process.stop()


@pytest.fixture(scope="module")
def conformance(own_local_mode: Running) -> Target:
    return Target.from_local_mode("local mode", own_local_mode, local_signing_secret())


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def verdicts_through_the_proxy(conformance) -> dict[str, list[Result]]:
    """Every breakage's smoke run, RUNS_AT_ONCE at a time (one at a time takes six minutes), and the
    unbroken service's through the same proxy under the same load: were load to fail a check, the
    unbroken run would say so rather than a breakage taking the credit."""
    good = mint("demo", local_signing_secret())
    slots = asyncio.Semaphore(RUNS_AT_ONCE)

    async def through_the_proxy(breakage: type[Breakage]) -> tuple[str, list[Result]]:
        async with slots, BreakingProxy(conformance.ws_url, breakage, good) as proxy:
            return breakage.name, await run_all(conformance.through(proxy.url), Options())

    async def every_run() -> dict[str, list[Result]]:
        side_by_side = [b for b in [Breakage, *BREAKAGES] if not b.alone]
        verdicts = dict(await asyncio.gather(*(through_the_proxy(b) for b in side_by_side)))
        for breakage in (b for b in BREAKAGES if b.alone):  # after the others, on a quiet event loop
            name, results = await through_the_proxy(breakage)
            verdicts[name] = results
        return verdicts

    return run(every_run())


def test_the_odds_of_failing_an_honest_service_are_below_one_in_ten_thousand_at_every_delay_setting():
    for low, high in ((1, 2), (0, 1), (3, 10), (1, 10), (5, 6)):
        target = Target.with_token("ws://x", "t", low, high)
        needed, odds = gaps_needed(target)
        assert needed >= 8 and odds < 1e-4, (low, high, needed, odds)
    assert gaps_needed(Target.with_token("ws://x", "t", 4, 4))[0] == 0  # fixed delays: nothing to draw, the check skips


def test_the_unbroken_service_passes_every_check(conformance):
    results = run(run_all(conformance, Options()))
    assert {r.name for r in results} == EVERY_CHECK
    assert [(r.name, r.detail) for r in results if r.status != "PASS"] == []


def test_the_unbroken_service_passes_every_check_through_the_proxy_among_broken_ones(verdicts_through_the_proxy):
    results = verdicts_through_the_proxy[Breakage.name]
    assert {r.name for r in results} == EVERY_CHECK
    assert [(r.name, r.detail) for r in results if r.status != "PASS"] == []


def test_make_smoke_finds_the_running_make_dev_and_runs_every_check_skipping_none(own_local_mode):
    """No STACK or URL: the running local mode (its record in ORDER_TRACKING_RUNNING_FILE), signed as its
    administrator; --strict, so a skip would fail."""
    result = make_smoke("SMOKE_ARGS=--strict")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"smoke check of make dev (delays {own_local_mode.min_delay}-{own_local_mode.max_delay} s)"
    assert sorted(line.split()[1] for line in lines[1:-1] if line.startswith("PASS ")) == sorted(EVERY_CHECK)
    assert lines[-1] == f"{len(EVERY_CHECK)} passed, 0 failed, 0 skipped"


@pytest.mark.parametrize("breakage", BREAKAGES, ids=[b.name for b in BREAKAGES])
def test_a_broken_service_fails_the_check_that_sees_it(verdicts_through_the_proxy, breakage: type[Breakage]):
    results = verdicts_through_the_proxy[breakage.name]
    failed = {r.name for r in results if r.status == "FAIL"}
    assert set(breakage.breaks) <= failed, [(r.name, r.status, r.detail) for r in results]
    assert not [r for r in results if r.status == "SKIP"]


# -- the canary ------------------------------------------------------------------------------------


def canary_run(own_local_mode: Running, canary_cdk_out, tmp_path, ws_url: str) -> tuple[list[str], dict[str, str]]:
    """The synthesized canary's bundle, called as Synthetics calls it, with the environment the stack
    gives it (the signing secret's id resolved as local mode names it), pointed at `ws_url` and at
    local mode's AWS side for Secrets Manager, at local mode's delays."""
    canary_stack = SynthesizedStack.load(canary_cdk_out)
    secret = canary_resource(canary_stack)["Properties"]["RunConfig"]["EnvironmentVariables"]["SIGNING_SECRET_ID"]
    env = {
        "WEBSOCKET_URL": ws_url,
        "SIGNING_SECRET_ID": canary_stack.resolver.ref(secret["Ref"]),
        "MIN_DELAY_SECONDS": str(own_local_mode.min_delay),
        "MAX_DELAY_SECONDS": str(own_local_mode.max_delay),
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": own_local_mode.aws,
        "AWS_DEFAULT_REGION": REGION,
        **FAKE_CREDENTIALS,
    }
    return handler_command(canary_stack, tmp_path, env)


async def call(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), 240)  # the canary's timeout
    return process.returncode or 0, output.decode()


def test_the_canary_passes_against_local_mode(own_local_mode, canary_cdk_out, tmp_path):
    status, output = run(call(*canary_run(own_local_mode, canary_cdk_out, tmp_path, own_local_mode.websocket)))
    assert status == 0, output
    passed = [line.split()[1] for line in output.splitlines() if line.startswith("PASS ")]
    assert set(passed) == {"connect", "complete", "gaps", "random", "first-event", "switch", "unknown-order", "resume"} | {
        "refused-no-token",
        "refused-wrong-signature",
        "refused-expired",
    }
    assert "11 checks, none failed" in output


def test_the_canary_run_fails_when_the_service_drops_an_event(own_local_mode, canary_cdk_out, tmp_path):
    async def through_the_proxy() -> tuple[int, str]:
        async with BreakingProxy(own_local_mode.websocket, Drop, mint("demo", local_signing_secret())) as proxy:
            return await call(*canary_run(own_local_mode, canary_cdk_out, tmp_path, proxy.url))

    status, output = run(through_the_proxy())
    assert status != 0
    assert "CanaryFailed: complete: " in output, output
