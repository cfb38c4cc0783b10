"""Shared test set-up: fake AWS credentials and region (nothing may reach real AWS) and the
synthesized stack every kind of test reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        # As the dev stack sets it; handler modules read it at import (tests/unit/test_metrics.py
        # checks that it matches the template).
        "POWERTOOLS_METRICS_NAMESPACE": "OrderTracking/dev",
    }
)

from local.template.stack import SynthesizedStack  # noqa: E402
from local.template.synth import ensure_synth  # noqa: E402


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--stack",
        help="run the end-to-end tests against this deployed stack (e.g. OrderTracking-dev) with your AWS "
        "credentials, instead of local mode; tests of local mode's own parts are skipped",
    )


@pytest.fixture(scope="session")
def cdk_out() -> Path:
    return ensure_synth()


@pytest.fixture(scope="session")
def stack(cdk_out: Path) -> SynthesizedStack:
    return SynthesizedStack.load(cdk_out)


@pytest.fixture(scope="session")
def prod_cdk_out(tmp_path_factory) -> Path:
    """The same app synthesized for stage prod (production on: data kept, reserved concurrency)."""
    return ensure_synth(tmp_path_factory.mktemp("prod") / "cdk.out", context={"stage": "prod"})


@pytest.fixture(scope="session")
def canary_cdk_out(tmp_path_factory) -> Path:
    """Stage dev synthesized with the smoke canary (`-c canary=true`)."""
    return ensure_synth(tmp_path_factory.mktemp("canary") / "cdk.out", context={"canary": "true"})
