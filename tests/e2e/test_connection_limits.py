"""API Gateway's idle timeout and connection lifetime, shortened so a test can watch them."""

from __future__ import annotations

import asyncio
import time

import pytest
import websockets

from local.cli.launcher import LocalModeProcess
from tests.support.aio import run

IDLE, LIFETIME = 2.0, 5.0


@pytest.fixture(scope="module")
def short_lived(cdk_out):
    process = LocalModeProcess("--idle-timeout", str(IDLE), "--max-lifetime", str(LIFETIME)).start()
    yield process
    process.stop()


async def _closed_after(url: str, ping_every: float | None) -> tuple[float, int | None]:
    started = time.monotonic()
    async with websockets.connect(url) as connection:
        try:
            while True:
                if ping_every:
                    await connection.send('{"type":"ping"}')
                try:
                    await asyncio.wait_for(connection.recv(), ping_every or 30)
                except TimeoutError:
                    pass
                if ping_every:
                    await asyncio.sleep(ping_every)
        except websockets.ConnectionClosed as closed:
            return time.monotonic() - started, closed.rcvd.code if closed.rcvd else None


def test_an_idle_connection_is_closed_with_going_away(short_lived):
    elapsed, code = run(_closed_after(short_lived.ws_url, ping_every=None))
    assert code == 1001
    assert IDLE - 0.2 <= elapsed < IDLE + 2


def test_a_busy_connection_outlives_the_idle_timeout_but_not_its_lifetime(short_lived):
    elapsed, code = run(_closed_after(short_lived.ws_url, ping_every=0.5))
    assert code == 1001
    assert LIFETIME - 0.2 <= elapsed < LIFETIME + 2
