"""End-to-end: local mode started as a user starts it, driven over real WebSockets."""

from __future__ import annotations

import pytest

from local.launcher import LocalModeProcess

MIN_DELAY, MAX_DELAY = 1, 2
CONNECTION_CAP = 120  # above the 100 concurrent clients of one customer these tests open


@pytest.fixture(scope="session")
def local_mode(cdk_out):
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
