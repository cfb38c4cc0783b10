"""A WebSocket proxy in front of local mode that breaks the service in one named way, for proving that
the smoke check fails when the service is broken: whoever wants a broken service to pass a check
has to get past every breakage here.

The handshake is passed on (a refusal upstream is the same refusal here, unless the breakage accepts
every token); frames from the client go upstream as they are; frames to the client go through the
breakage, which may delay, drop, repeat, rewrite or invent them.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import websockets
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

Send = Callable[[dict[str, Any]], Awaitable[None]]


class Breakage:
    """Passes everything on unchanged; each subclass breaks one promise. One instance per connection."""

    name = "none"
    breaks: tuple[str, ...] = ()  # the smoke checks that must fail
    # Checked alone, not beside other runs: a breakage of 0.1 s precision, which the smoke client (timing
    # by arrival, in the test's one event loop with every proxy) cannot see through a busy loop.
    alone = False

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()
        self.tracked: list[str] = []  # the orders the client asked for, in order
        self.last: dict[str, dict[str, Any]] = {}  # the last event frame of each order
        self.resuming = False

    def from_client(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Note what the client asked for; what goes upstream (the frame itself, unless a breakage rewrites it)."""
        if frame.get("type") == "track_order":
            self.tracked.append(str(frame.get("orderId")))
            self.resuming = "resume" in frame
        return frame

    async def to_client(self, frame: dict[str, Any], send: Send) -> None:
        await send(frame)

    def later(self, seconds: float, frame: dict[str, Any], send: Send) -> None:
        async def deliver() -> None:
            await asyncio.sleep(seconds)
            await send(frame)

        task = asyncio.create_task(deliver())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


class LateFirstEvent(Breakage):
    name, breaks = "late-first-event", ("first-event",)

    async def to_client(self, frame: dict[str, Any], send: Send) -> None:
        if frame.get("seq") == 1:
            self.later(5.0, frame, send)
        else:
            await send(frame)


class ConstantGaps(Breakage):
    """Every event re-timed to 3 s after the previous one of its tracking, its `at` rewritten to match."""

    name, breaks, alone = "constant-gaps", ("random",), True
    SPACING = 3.0

    def __init__(self) -> None:
        super().__init__()
        self.first: dict[str, tuple[float, float, str]] = {}  # tracking: (loop time, epoch of its `at`, `at`)

    async def to_client(self, frame: dict[str, Any], send: Send) -> None:
        if "seq" not in frame:
            await send(frame)
            return
        now = asyncio.get_running_loop().time()
        tracking = str(frame.get("trackingId"))
        offset = (frame["seq"] - 1) * self.SPACING
        if tracking not in self.first:
            stamp = datetime.strptime(frame["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
            self.first[tracking] = (now - offset, stamp - offset, frame["at"])
        start, stamp, _ = self.first[tracking]
        due = start + offset
        at = datetime.fromtimestamp(stamp + offset, UTC)
        frame = {**frame, "at": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"}
        self.later(max(0.0, due - now), frame, send)


class LateEvents(Breakage):
    name, breaks = "late-events", ("gaps",)

    async def to_client(self, frame: dict[str, Any], send: Send) -> None:
        if frame.get("seq", 0) >= 2:
            self.later(4.0, frame, send)
        else:
            await send(frame)


class StaleAfterSwitch(Breakage):
    """After the first frame answering a switch, one more event of the order switched away from."""

    name, breaks = "stale-after-switch", ("switch",)

    async def to_client(self, frame: dict[str, Any], send: Send) -> None:
        await send(frame)
        order = frame.get("orderId")
        if "seq" in frame:
            previous = [o for o in self.tracked[:-1] if o != order]
            if frame.get("seq") == 1 and previous and previous[-1] in self.last:
                stale = copy.deepcopy(self.last[previous[-1]])
                stale["seq"] += 1
                stale["eventId"] = f"{stale['trackingId']}#{stale['seq']}"
                await send(stale)
            self.last[str(order)] = frame


class Duplicate(Breakage):
    name, breaks = "duplicate", ("complete",)

    async def to_client(self, frame: dict[str, Any], send: Send) -> None:
        await send(frame)
        if frame.get("seq") == 2:
            await send(frame)


class Drop(Breakage):
    name, breaks = "drop", ("complete",)

    async def to_client(self, frame: dict[str, Any], send: Send) -> None:
        if frame.get("seq") != 2:
            await send(frame)


class Reorder(Breakage):
    name, breaks = "reorder", ("complete",)

    def __init__(self) -> None:
        super().__init__()
        self.held: dict[str, dict[str, Any]] = {}

    async def to_client(self, frame: dict[str, Any], send: Send) -> None:
        tracking = str(frame.get("trackingId"))
        if frame.get("seq") == 2:
            self.held[tracking] = frame
            return
        await send(frame)
        if frame.get("seq") == 3 and tracking in self.held:
            await send(self.held.pop(tracking))


class ForeignFrame(Breakage):
    """Another order's event in the middle of a tracking."""

    name, breaks = "foreign-frame", ("complete",)

    async def to_client(self, frame: dict[str, Any], send: Send) -> None:
        await send(frame)
        if frame.get("seq") == 2 and frame.get("orderId") == "ZX-1001":
            await send({**frame, "orderId": "ZX-1002", "eventId": f"{frame['trackingId']}#x"})


class ReplayTwice(Breakage):
    """A resume's first replayed event, twice."""

    name, breaks = "replay-twice", ("resume",)

    async def to_client(self, frame: dict[str, Any], send: Send) -> None:
        await send(frame)
        if self.resuming and "seq" in frame:
            self.resuming = False
            await send(frame)


class IgnoreResume(Breakage):
    """A resume treated as a fresh track_order: a new tracking, from seq 1."""

    name, breaks = "ignore-resume", ("resume",)

    def from_client(self, frame: dict[str, Any]) -> dict[str, Any]:
        super().from_client(frame)
        return {k: v for k, v in frame.items() if k != "resume"}


class OneWatcher(Breakage):
    """A live order's events reach only the first connection that got one: a fan-out that stops at one."""

    name, breaks = "one-watcher", ("live-order",)
    watcher_of: dict[str, int] = {}  # live order: the connection (id of its breakage) that gets its events

    async def to_client(self, frame: dict[str, Any], send: Send) -> None:
        order = str(frame.get("orderId"))
        if "seq" in frame and order.startswith("LV-"):
            if OneWatcher.watcher_of.setdefault(order, id(self)) != id(self):
                return
        await send(frame)


class StampsFromTheServer(Breakage):
    """Every `at` an hour back and all the same: a server that stamps whatever it likes."""

    name, breaks = "fixed-at", ("gaps",)

    async def to_client(self, frame: dict[str, Any], send: Send) -> None:
        await send({**frame, "at": "2026-01-01T00:00:00.000Z"} if "seq" in frame else frame)


class SilentUnknownOrder(Breakage):
    name, breaks = "silent-unknown-order", ("unknown-order",)

    async def to_client(self, frame: dict[str, Any], send: Send) -> None:
        if frame.get("code") != "order_not_found":
            await send(frame)


class AcceptAnyToken(Breakage):
    """Every handshake admitted, whatever its token (the proxy connects upstream with a good one)."""

    name, breaks = "accept-any-token", ("refused-no-token", "refused-wrong-signature", "refused-expired")


BREAKAGES: list[type[Breakage]] = [
    LateFirstEvent,
    ConstantGaps,
    LateEvents,
    StaleAfterSwitch,
    Duplicate,
    Drop,
    Reorder,
    ForeignFrame,
    ReplayTwice,
    IgnoreResume,
    OneWatcher,
    StampsFromTheServer,
    SilentUnknownOrder,
    AcceptAnyToken,
]


class BreakingProxy:
    def __init__(self, upstream: str, breakage: type[Breakage], good_token: str) -> None:
        """`upstream`: local mode's ws:// endpoint; `good_token`: for a breakage that accepts any token."""
        self.upstream = upstream.split("?", 1)[0].rstrip("/")
        self.breakage = breakage
        self.good_token = good_token
        self._upstreams: dict[int, Any] = {}
        self._server: Any = None

    async def __aenter__(self) -> BreakingProxy:
        self._server = await websockets.serve(self._relay, "127.0.0.1", 0, process_request=self._handshake)
        return self

    async def __aexit__(self, *_: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    async def _handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path
        if self.breakage is AcceptAnyToken:
            path = f"/?token={self.good_token}"
        try:
            self._upstreams[id(connection)] = await websockets.connect(self.upstream + path, open_timeout=20)
        except websockets.InvalidStatus as refused:
            return connection.respond(refused.response.status_code, refused.response.reason_phrase)
        return None

    async def _relay(self, client: ServerConnection) -> None:
        upstream = self._upstreams.pop(id(client))
        breakage = self.breakage()

        async def send(frame: dict[str, Any]) -> None:
            try:
                await client.send(json.dumps(frame))
            except websockets.ConnectionClosed:
                pass

        async def from_client() -> None:
            async for received in client:
                try:
                    frame = json.loads(received)
                except ValueError:
                    frame = None
                passed_on = breakage.from_client(frame) if isinstance(frame, dict) else frame
                await upstream.send(received if passed_on is frame else json.dumps(passed_on))

        async def to_client() -> None:
            async for message in upstream:
                await breakage.to_client(json.loads(message), send)

        relays = [asyncio.create_task(from_client()), asyncio.create_task(to_client())]
        try:
            await asyncio.wait(relays, return_when=asyncio.FIRST_COMPLETED)
            if breakage.tasks:
                await asyncio.wait(breakage.tasks, timeout=10)
        except websockets.ConnectionClosed:
            pass
        finally:
            for relay in relays:
                relay.cancel()
            await upstream.close()
            await client.close()
