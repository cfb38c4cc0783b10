"""The gateway against hostile sockets, in-process on a real port with plain-function handlers:
slow and silent handshakes are timed out and capped, and hypothesis throws arbitrary handshake heads
and frames at it. Whatever comes in, the answer is an HTTP status or a documented close, and a proper
client is served right after."""

from __future__ import annotations

import asyncio
import json
import time

import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.websocket_gateway import WebSocketGateway
from tests.support.aio import run
from tests.support.raw_socket import address, client_frame, close_code, exchange, status_of, upgrade_head
from tests.unit.test_websocket_gateway import API, Handlers

# none, normal, protocol error, binary, no status (echoing a bare close), bad UTF-8, too big
DOCUMENTED_CLOSES = {None, 1000, 1002, 1003, 1005, 1007, 1009}


async def with_gateway(scenario, **options):
    gateway = WebSocketGateway(API, Handlers(), port=0, **options)
    await gateway.start()
    try:
        return await scenario(gateway)
    finally:
        await gateway.stop()


async def still_serves(gateway) -> bool:
    async with websockets.connect(gateway.url, open_timeout=5) as connection:
        await connection.send('{"type":"echo"}')
        return json.loads(await asyncio.wait_for(connection.recv(), 5))["route"] == "echo"


def test_a_silent_or_trickling_handshake_is_timed_out_with_408():
    async def scenario(gateway):
        started = time.monotonic()
        silent = await exchange(gateway.url, b"", timeout=5)
        reader, writer = await asyncio.open_connection(*address(gateway.url))
        trickled = b""
        for byte in upgrade_head("/")[:40]:  # one byte every 0.1 s: never a whole head
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                trickled += await asyncio.wait_for(reader.read(4096), 0.1)
            except TimeoutError:
                continue
            if trickled:
                break
        writer.close()
        return time.monotonic() - started, silent, trickled, await still_serves(gateway)

    elapsed, silent, trickled, serves = run(with_gateway(scenario, head_timeout=0.5))
    assert status_of(silent) == 408 and status_of(trickled) == 408
    assert elapsed < 5 and serves


def test_half_open_handshakes_are_capped_and_the_cap_frees_up():
    async def scenario(gateway):
        holders = [await asyncio.open_connection(*address(gateway.url)) for _ in range(3)]
        await asyncio.sleep(0.1)
        refused = await exchange(gateway.url, b"", timeout=1)
        for _, writer in holders:
            writer.close()
        await asyncio.sleep(0.2)
        return refused, await still_serves(gateway)

    refused, serves = run(with_gateway(scenario, head_timeout=5, max_half_open=3))
    assert status_of(refused) == 503 and serves


heads = st.one_of(
    st.binary(max_size=300).map(lambda b: b + b"\r\n\r\n"),
    st.lists(st.text(alphabet=st.characters(codec="latin-1"), max_size=40), max_size=6).map(
        lambda lines: ("GET / HTTP/1.1\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    ),
    st.sampled_from(
        [
            upgrade_head("/", key=False),
            upgrade_head("/", extra="Sec-WebSocket-Version: 8\r\n"),
            b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            b"POST /dev/@connections/x HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
            b"GET /\x00 HTTP/1.1\r\n\r\n",
        ]
    ),
)
frames = st.lists(
    st.tuples(st.sampled_from([0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xA, 0xF]), st.binary(max_size=200), st.booleans()),
    min_size=1,
    max_size=5,
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(head=heads)
def test_any_handshake_head_gets_an_http_answer_and_the_gateway_keeps_serving(head):
    async def scenario(gateway):
        answer = await exchange(gateway.url, head, timeout=2)
        return answer, await still_serves(gateway)

    answer, serves = run(with_gateway(scenario, head_timeout=1))
    assert status_of(answer) is not None or answer == b"", answer[:80]
    assert serves


@FUZZ
@given(sent=frames)
def test_any_frames_get_answers_or_a_documented_close_and_the_gateway_keeps_serving(sent):
    async def scenario(gateway):
        data = upgrade_head("/") + b"".join(client_frame(opcode, payload, fin) for opcode, payload, fin in sent)
        answer = await exchange(gateway.url, data, timeout=1)
        return answer, await still_serves(gateway)

    answer, serves = run(with_gateway(scenario))
    assert status_of(answer) == 101
    echoed = {int.from_bytes(payload[:2], "big") for opcode, payload, _ in sent if opcode == 0x8 and len(payload) >= 2}
    assert close_code(answer) in DOCUMENTED_CLOSES | echoed  # a client's own close is echoed
    assert serves
