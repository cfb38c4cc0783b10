"""One accepted WebSocket connection in local mode's API Gateway, and the limits API Gateway puts on
what a client may send over it:

- a frame over 32 KB closes the connection with 1009 (a message may reach 128 KB only as several
  frames; a larger message closes with 1009 too);
- a binary frame closes it with 1003 (WebSocket APIs take text payloads only);
- 10 minutes without a client message, or 2 hours in all, close it with 1001 (both configurable).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from local.gateway.events import epoch_ms

MAX_FRAME_BYTES = 32 * 1024
MAX_MESSAGE_BYTES = 128 * 1024
IDLE_TIMEOUT_SECONDS = 10 * 60
MAX_LIFETIME_SECONDS = 2 * 60 * 60
GOING_AWAY = 1001
UNSUPPORTED_DATA = 1003
MESSAGE_TOO_BIG = 1009


class LiveConnection:
    """One accepted WebSocket connection. Methods run on the event loop's thread only."""

    def __init__(self, connection_id: str, protocol: ServerProtocol, writer: asyncio.StreamWriter, request: Request) -> None:
        self.connection_id = connection_id
        self.protocol = protocol
        self.writer = writer
        self.request = request
        self.connected_at = epoch_ms()
        self.last_message = time.monotonic()
        self.close_reason: tuple[int, str] | None = None
        self.identity: dict[str, Any] | None = None  # the authorizer's context, on every event

    def flush(self) -> None:
        for chunk in self.protocol.data_to_send():
            if chunk:
                self.writer.write(chunk)
            elif self.writer.can_write_eof():  # an empty chunk asks to half-close the TCP connection
                try:
                    self.writer.write_eof()
                except OSError:  # the client reset the connection first (ENOTCONN): it is closed either way
                    self.writer.transport.abort()

    def send(self, text: str) -> bool:
        if self.protocol.state is not State.OPEN:
            return False
        self.protocol.send_text(text.encode("utf-8"))
        self.flush()
        return True

    def close(self, code: int = 1000, reason: str = "") -> None:
        if self.protocol.state is State.OPEN:
            self.close_reason = (code, reason)
            self.protocol.send_close(code, reason)
            self.flush()

    @property
    def open(self) -> bool:
        return self.protocol.state is State.OPEN


async def read_messages(
    reader: asyncio.StreamReader,
    live: LiveConnection,
    on_message: Callable[[LiveConnection, str], None],
    *,
    idle_timeout: float = IDLE_TIMEOUT_SECONDS,
    max_lifetime: float = MAX_LIFETIME_SECONDS,
) -> None:
    """Hand each whole text message to `on_message` until the connection closes, enforcing the limits."""
    fragments: list[bytes] = []
    while live.protocol.state is not State.CLOSED:
        idle_left = live.last_message + idle_timeout - time.monotonic()
        life_left = live.connected_at / 1000 + max_lifetime - time.time()
        try:
            data = await asyncio.wait_for(reader.read(65536), max(0.0, min(idle_left, life_left)))
        except TimeoutError:
            live.close(GOING_AWAY, "Going away")
            await drain(live.writer)
            await wait_closed(reader, live)
            return
        if not data:
            live.protocol.receive_eof()
            return
        live.protocol.receive_data(data)
        for frame in live.protocol.events_received():
            if not isinstance(frame, Frame):
                continue  # a server's protocol receives only frames after the handshake
            if not live.open or frame.opcode not in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                continue  # control frames: the protocol already answered pings and closes
            if frame.opcode is Opcode.BINARY or (frame.opcode is Opcode.CONT and not fragments):
                live.close(UNSUPPORTED_DATA, "Binary frames are not supported")
                continue
            if len(frame.data) > MAX_FRAME_BYTES:
                live.close(MESSAGE_TOO_BIG, "Frame size exceeds the 32 KB limit")
                continue
            fragments = [bytes(frame.data)] if frame.opcode is Opcode.TEXT else [*fragments, bytes(frame.data)]
            if frame.fin:
                message, fragments = b"".join(fragments), []
                live.last_message = time.monotonic()
                on_message(live, message.decode("utf-8", "replace"))
        if live.protocol.close_code == MESSAGE_TOO_BIG and live.close_reason is None:
            live.close_reason = (MESSAGE_TOO_BIG, "Message too big")
        live.flush()
        await drain(live.writer)


async def drain(writer: asyncio.StreamWriter) -> None:
    try:
        await writer.drain()
    except ConnectionError:
        pass


async def wait_closed(reader: asyncio.StreamReader, live: LiveConnection, timeout: float = 2.0) -> None:
    """After we sent a close frame, give the client a moment to answer it."""
    deadline = time.monotonic() + timeout
    while live.protocol.state is not State.CLOSED and time.monotonic() < deadline:
        try:
            data = await asyncio.wait_for(reader.read(65536), deadline - time.monotonic())
        except TimeoutError:
            break
        if not data:
            break
        live.protocol.receive_data(data)
        live.protocol.events_received()
        live.flush()
        if live.protocol.close_expected():  # the client answered: the server closes TCP first
            break
