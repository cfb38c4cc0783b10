"""Plain TCP for hostile-input tests: send exactly the bytes a test chooses, read what comes back."""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from urllib.parse import urlsplit


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


async def exchange(url: str, data: bytes, timeout: float = 5.0) -> bytes:
    """Send `data` on a new connection, then read until the server closes it or `timeout` passes."""
    reader, writer = await asyncio.open_connection(*address(url))
    try:
        writer.write(data)
        await writer.drain()
        chunks = []
        try:
            while chunk := await asyncio.wait_for(reader.read(65536), timeout):
                chunks.append(chunk)
        except TimeoutError:
            pass
        return b"".join(chunks)
    finally:
        writer.close()


def status_of(answer: bytes) -> int | None:
    """The status code of an HTTP response's first line, or None if `answer` is not one."""
    line = answer.split(b"\r\n", 1)[0].split(b" ")
    return int(line[1]) if len(line) >= 2 and line[0].startswith(b"HTTP/1.") and line[1].isdigit() else None


def upgrade_head(path: str, host: str = "127.0.0.1", *, key: bool = True, extra: str = "") -> bytes:
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Version: 13",
    ]
    if key:
        lines.append(f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def client_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """One masked client frame (RFC 6455)."""
    first = (0x80 if fin else 0) | opcode
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first, 0x80 | length)
    elif length < 65536:
        header = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, length)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def close_code(answer: bytes) -> int | None:
    """The code of the first server close frame after the 101 response's head, if any."""
    rest = answer.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in answer else b""
    while len(rest) >= 2:
        opcode, length = rest[0] & 0x0F, rest[1] & 0x7F
        offset = 2
        if length == 126:
            length, offset = struct.unpack("!H", rest[2:4])[0], 4
        elif length == 127:
            length, offset = struct.unpack("!Q", rest[2:10])[0], 10
        payload, rest = rest[offset : offset + length], rest[offset + length :]
        if opcode == 0x8:
            return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
    return None
