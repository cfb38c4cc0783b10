"""The gateway against hostile sockets, in-process on a real port with plain-function handlers:
slow and silent handshakes are timed out and capped, and hypothesis throws arbitrary handshake heads
and frames at it. Whatever comes in, the answer is an HTTP status or a documented close, and a proper
client is served right after."""

from __future__ import annotations

import asyncio
import errno
import json
import struct
import time

import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.server import ServerProtocol

from local.gateway.connections import LiveConnection
from local.gateway.websocket import WebSocketGateway
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


KEPT_ALIVE_REQUEST = b"GET /dev/@connections/AAAA HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"  # 403, connection kept


async def answered(reader: asyncio.StreamReader) -> bytes:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    return head + await reader.readexactly(length)


def test_a_kept_alive_connection_that_upgrades_releases_its_half_open_slot_once():
    """A request, then a WebSocket upgrade on the same connection: the count must come back to where
    it was, not below it (else every such connection adds one to the cap, for good)."""

    async def scenario(gateway):
        for _ in range(4):
            reader, writer = await asyncio.open_connection(*address(gateway.url))
            writer.write(KEPT_ALIVE_REQUEST)
            assert status_of(await answered(reader)) == 403
            writer.write(upgrade_head("/"))
            assert status_of(await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)) == 101
            writer.close()
        await asyncio.sleep(0.2)
        holders = [await asyncio.open_connection(*address(gateway.url)) for _ in range(2)]
        await asyncio.sleep(0.1)
        refused = await exchange(gateway.url, b"", timeout=1)
        for _, writer in holders:
            writer.close()
        return refused, gateway._half_open.count

    refused, count = run(with_gateway(scenario, head_timeout=5, max_half_open=2))
    assert status_of(refused) == 503
    assert count >= 0


def test_every_request_head_of_a_kept_alive_connection_is_timed_and_counted():
    async def scenario(gateway):
        reader, writer = await asyncio.open_connection(*address(gateway.url))
        writer.write(KEPT_ALIVE_REQUEST)
        assert status_of(await answered(reader)) == 403
        started = time.monotonic()
        writer.write(b"GET /dev/@conn")  # the next head starts, and never ends
        await writer.drain()
        await asyncio.sleep(0.1)
        refused = await exchange(gateway.url, b"", timeout=1)  # the cap (1) is held by that head
        timed_out = await asyncio.wait_for(reader.read(4096), 5)
        writer.close()
        return refused, timed_out, time.monotonic() - started, await still_serves(gateway)

    refused, timed_out, elapsed, serves = run(with_gateway(scenario, head_timeout=0.5, max_half_open=1))
    assert status_of(refused) == 503
    assert status_of(timed_out) == 408 and elapsed < 3
    assert serves


def test_overlapping_outages_make_one_longer_outage_and_the_gateway_comes_back():
    async def scenario(gateway):
        loop_errors: list[dict] = []
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: loop_errors.append(context))
        started = time.monotonic()
        first = asyncio.create_task(gateway.outage(0.4))
        await asyncio.sleep(0.1)
        second = asyncio.create_task(gateway.outage(0.6))  # asked for while the first is under way
        await asyncio.gather(first, second)
        serves = await still_serves(gateway)
        return time.monotonic() - started, list(loop_errors), serves

    elapsed, loop_errors, serves = run(with_gateway(scenario))
    assert 0.6 <= elapsed < 2  # until the later end, 0.1 + 0.6 s
    assert loop_errors == [] and serves


def test_a_half_close_that_fails_because_the_client_is_gone_aborts_quietly():
    """After a close handshake the server half-closes TCP (write_eof); a browser that already reset the
    connection makes that fail with OSError 107 (ENOTCONN), which reached the console as a traceback."""

    class GoneWriter:
        aborted = False

        def __init__(self) -> None:
            self.transport = self

        def write(self, data: bytes) -> None:
            pass

        def can_write_eof(self) -> bool:
            return True

        def write_eof(self) -> None:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")

        def abort(self) -> None:
            self.aborted = True

    protocol = ServerProtocol()
    protocol.receive_data(upgrade_head("/"))
    (request,) = protocol.events_received()
    protocol.send_response(protocol.accept(request))
    writer = GoneWriter()
    live = LiveConnection("conn", protocol, writer, request)  # type: ignore[arg-type]
    protocol.receive_data(client_frame(0x8, struct.pack("!H", 1000)))  # the client's close
    protocol.events_received()
    live.flush()  # the echoed close, then the half-close
    assert writer.aborted


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
