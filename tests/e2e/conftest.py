"""End-to-end: local mode started as a user starts it, driven over real WebSockets; or, with
`pytest tests/e2e --stack OrderTracking-dev`, a deployed stack through the same tests (`target`)."""

from __future__ import annotations

import pytest

from local.cli.launcher import LocalModeProcess
from local.cli.tokens import local_signing_secret
from smoke.target import Target

MIN_DELAY, MAX_DELAY = 1, 2
CONNECTION_CAP = 120  # above the 100 concurrent clients of one customer these tests open


@pytest.fixture(scope="session")
def deployed_stack(request) -> str | None:
    return request.config.getoption("--stack")


@pytest.fixture(scope="session")
def local_mode(deployed_stack, request):
    if deployed_stack:
        pytest.skip("a test of local mode itself")
    request.getfixturevalue("cdk_out")
    process = LocalModeProcess(
        "--min-delay",
        str(MIN_DELAY),
        "--max-delay",
        str(MAX_DELAY),
        "--workers",
        "3",
        "--max-connections-per-customer",
        str(CONNECTION_CAP),
    ).start()
    yield process
    assert process.stop() == 0, "\n".join(process.lines[-30:])


@pytest.fixture(scope="session")
def target(deployed_stack, request) -> Target:
    """What the tests connect to: local mode, or the stack given with --stack."""
    if deployed_stack:
        return Target.from_stack(deployed_stack)
    local = request.getfixturevalue("local_mode")
    return Target.with_secret("local mode", local.ws_url, local_signing_secret(), MIN_DELAY, MAX_DELAY)
