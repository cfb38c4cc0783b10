"""End-to-end: local mode started as a user starts it, driven over real WebSockets."""

from __future__ import annotations

import pytest

from tests.support.local_mode import LocalModeProcess

MIN_DELAY, MAX_DELAY = 1, 2


@pytest.fixture(scope="session")
def local_mode(cdk_out):
    process = LocalModeProcess("--min-delay", str(MIN_DELAY), "--max-delay", str(MAX_DELAY), "--workers", "3").start()
    yield process
    assert process.stop() == 0, "\n".join(process.lines[-30:])
