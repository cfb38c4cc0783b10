"""The HTTP side of local mode's API Gateway port: reading a request's head and body from a TCP stream
with the limits a public endpoint needs, and writing answers.

Every request head (a keep-alive connection's later ones too) must arrive whole within
HEAD_TIMEOUT_SECONDS of its first byte and fit in MAX_HEAD_BYTES; at most MAX_HALF_OPEN connections may
be in that state at once (a silent or byte-by-byte client holds one slot for at most the timeout, and
the next over the cap is answered 503 at once). A connection holds at most one slot, whatever path
releases it. Anything malformed is
answered 400 (408, 413, 431, 503 where those fit) and the connection closed: never a dropped socket.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

HEAD_TIMEOUT_SECONDS = 10.0
MAX_HEAD_BYTES = 16 * 1024
MAX_HALF_OPEN = 256
MAX_BODY_BYTES = 256 * 1024  # @connections takes 128 KB; the rest is for the fault hooks' small bodies
TOKEN_CHARS = set("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class RequestHead:
    method: str
    target: str  # path?query as sent
    headers: dict[str, str]  # names lower case; repeated headers joined with ","
    raw: bytes

    @property
    def is_websocket_upgrade(self) -> bool:
        return self.method == "GET" and "websocket" in self.headers.get("upgrade", "").lower()


def parse_head(head: bytes) -> RequestHead:
    """The request line and headers of `head` (ending in CRLF CRLF), or BadRequest(400)."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0] or set(parts[0]) - TOKEN_CHARS or not parts[2].startswith("HTTP/1."):
        raise BadRequest(400, "malformed request line")
    method, target, _version = parts
    if not target.startswith("/") or any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):
        raise BadRequest(400, "malformed request target")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or set(name) - TOKEN_CHARS or any(ord(c) < 0x20 and c != "\t" for c in value):
            raise BadRequest(400, "malformed header")
        name = name.lower()
        headers[name] = f"{headers[name]},{value.strip()}" if name in headers else value.strip()
    return RequestHead(method.upper(), target, headers, head)


async def next_request(reader: asyncio.StreamReader, idle_timeout: float) -> bytes:
    """The first byte of a keep-alive connection's next request; b"" when the client closed or stayed
    silent for `idle_timeout` (an idle connection is closed quietly)."""
    try:
        return await asyncio.wait_for(reader.read(1), idle_timeout)
    except TimeoutError:
        return b""


async def read_head(
    reader: asyncio.StreamReader, timeout: float = HEAD_TIMEOUT_SECONDS, *, first: bytes = b""
) -> RequestHead | None:
    """The next request head (`first`: its first byte, read already); None when the client closed
    cleanly between requests."""
    try:
        head = first + await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except TimeoutError:
        raise BadRequest(408, "request head not received in time") from None
    except asyncio.LimitOverrunError:
        raise BadRequest(431, "request head too large") from None
    except asyncio.IncompleteReadError as partial:
        if not (first + partial.partial).strip():
            return None
        raise BadRequest(400, "connection closed inside the request head") from None
    return parse_head(head)


async def read_body(reader: asyncio.StreamReader, head: RequestHead, timeout: float = HEAD_TIMEOUT_SECONDS) -> bytes:
    if "transfer-encoding" in head.headers:
        raise BadRequest(400, "chunked request bodies are not accepted here; send Content-Length")
    raw = head.headers.get("content-length", "0") or "0"
    if not raw.isdigit():
        raise BadRequest(400, "Content-Length must be a non-negative integer")
    length = int(raw)
    if length > MAX_BODY_BYTES:
        raise BadRequest(413, f"request body over {MAX_BODY_BYTES} bytes")
    if not length:
        return b""
    try:
        return await asyncio.wait_for(reader.readexactly(length), timeout)
    except TimeoutError:
        raise BadRequest(408, "request body not received in time") from None
    except asyncio.IncompleteReadError:
        raise BadRequest(400, "connection closed inside the request body") from None


def response(status: int, payload: Any = None, headers: dict[str, str] | None = None, *, keep_alive: bool = False) -> bytes:
    """A whole HTTP/1.1 response with a JSON body (none when `payload` is None)."""
    data = json.dumps(payload).encode() if payload is not None else b""
    lines = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        f"Content-Length: {len(data)}",
        "Content-Type: application/json",
        "Connection: keep-alive" if keep_alive else "Connection: close",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


class HalfOpen:
    """Counts connections whose request head (or handshake) is not complete yet. Used on the event
    loop's thread only."""

    def __init__(self, limit: int = MAX_HALF_OPEN) -> None:
        self.limit = limit
        self.count = 0

    def slot(self) -> HalfOpenSlot:
        """One connection's place in the count: it holds at most one at a time."""
        return HalfOpenSlot(self)


class HalfOpenSlot:
    def __init__(self, pool: HalfOpen) -> None:
        self._pool = pool
        self.held = False

    def enter(self) -> bool:
        """Count the connection as half-open (again); False when the cap is reached."""
        if not self.held:
            if self._pool.count >= self._pool.limit:
                return False
            self._pool.count += 1
            self.held = True
        return True

    def leave(self) -> None:
        """Stop counting it; a second call does nothing."""
        if self.held:
            self.held = False
            self._pool.count -= 1
