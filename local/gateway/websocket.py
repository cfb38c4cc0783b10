"""An API Gateway WebSocket API emulator, as the template's routes describe it.

One port serves the WebSocket endpoint and the `@connections` management API, because on AWS they are
one host too: `wss://{api}.execute-api.{region}.amazonaws.com/{stage}` and
`https://{api}.execute-api.{region}.amazonaws.com/{stage}/@connections/{id}`. The handlers' management
endpoint is the stage URL, rewritten to this port (local/cli/run.py).

What it does as API Gateway does:
- The handshake: only `/` and `/{stage}` are WebSocket paths (another is 403); a malformed upgrade
  (no Sec-WebSocket-Key, a wrong version...) is answered 400 before anything runs, so nothing is
  stored behind a refused handshake. Then the authorizer and `$connect` (integrations.py); a status
  >= 400 (or an error) refuses the handshake with that status and no connection is made.
- Each message takes its route (integrations.py); routes with a route response send the handler's
  `body` back to the client. A failing handler, or a message the gateway itself cannot route, gets
  API Gateway's `{"message": "Internal server error", ...}`: every frame gets an answer or a close.
- `$disconnect` runs after a close from either side, with the close code and reason.
- Frames, messages, idle timeout and lifetime: connections.py. Request heads, bodies and half-open
  connections: http_front.py. The management API's calls: management_api.py.

Not API Gateway: the fault hooks of local/faults/hooks.py, on the same port.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
import uuid
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from websockets.http11 import Request
from websockets.server import ServerProtocol

from local.console.lines import Console
from local.faults.hooks import FaultHooks
from local.gateway import events, management_api
from local.gateway.connections import (
    GOING_AWAY,
    IDLE_TIMEOUT_SECONDS,
    MAX_LIFETIME_SECONDS,
    MAX_MESSAGE_BYTES,
    LiveConnection,
    read_messages,
)
from local.gateway.http_front import (
    HEAD_TIMEOUT_SECONDS,
    MAX_HALF_OPEN,
    MAX_HEAD_BYTES,
    BadRequest,
    HalfOpen,
    RequestHead,
    next_request,
    read_body,
    read_head,
    response,
)
from local.gateway.integrations import Integrations, Invoke
from local.gateway.management_api import Connection, ConnectionRegistry
from local.iam.policies import LocalIam
from local.iam.resource_policies import LambdaPermissions
from local.iam.sigv4 import SignedRequest
from local.runtime.workers import Invocation
from local.template.specs import WebSocketApiSpec

KEEP_ALIVE_SECONDS = 60.0  # an idle keep-alive HTTP connection (between @connections calls)


def new_connection_id() -> str:
    """Shaped like API Gateway's: 16 characters of base64, often ending in '='."""
    return base64.b64encode(secrets.token_bytes(11)).decode()[:15] + "="


class WebSocketGateway:
    def __init__(
        self,
        api: WebSocketApiSpec,
        invoke: Invoke,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        registry: ConnectionRegistry | None = None,
        console: Console | None = None,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
        max_lifetime: float = MAX_LIFETIME_SECONDS,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        invoke_threads: int = 64,
        iam: LocalIam | None = None,
        fault_token: str | None = None,
        head_timeout: float = HEAD_TIMEOUT_SECONDS,
        max_half_open: int = MAX_HALF_OPEN,
        permissions: LambdaPermissions | None = None,
    ) -> None:
        """`permissions`: the functions' resource-based policies, checked before each invocation as
        Lambda checks them for API Gateway (None: not checked, for tests of the gateway alone)."""
        self.console = console or Console(quiet=True)
        self.integrations = Integrations(api, invoke, self.console, threads=invoke_threads, permissions=permissions)
        self.iam = iam or LocalIam({})  # no roles: only local mode's administrator may call @connections
        self.host = host
        self.port = port
        self.registry = registry or ConnectionRegistry()
        self.idle_timeout = idle_timeout
        self.max_lifetime = max_lifetime
        self.max_message_bytes = max_message_bytes
        self.faults = FaultHooks(lambda seconds: self._spawn(self.outage(seconds)), fault_token)
        self._server: asyncio.base_events.Server | None = None
        self._live: dict[str, LiveConnection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.head_timeout = head_timeout
        self._half_open = HalfOpen(max_half_open)
        self._outage_until: float | None = None  # monotonic end of the outage under way, if one is
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def api(self) -> WebSocketApiSpec:
        return self.integrations.api

    @api.setter
    def api(self, api: WebSocketApiSpec) -> None:  # a reload of the stack
        self.integrations.api = api

    @property
    def permissions(self) -> LambdaPermissions | None:
        return self.integrations.permissions

    @permissions.setter
    def permissions(self, permissions: LambdaPermissions | None) -> None:
        self.integrations.permissions = permissions

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def management_endpoint(self) -> str:
        """`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}` of this gateway."""
        return f"http://{self.host}:{self.port}/{self.api.stage_name}"

    @property
    def _context(self) -> dict[str, Any]:
        return {"stage": self.api.stage_name, "domain_name": f"{self.host}:{self.port}", "source_ip": self.host}

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=MAX_HEAD_BYTES)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server:
            self._server.close()
        for live in list(self._live.values()):
            live.close(GOING_AWAY, "Going away")
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        if self._server:
            await self._server.wait_closed()
        self.integrations.close()

    async def outage(self, seconds: float) -> None:
        """Crash and restart the WebSocket side: abort every connection, refuse new ones for `seconds`.
        An outage asked for during another one extends it (to whichever ends later): one restart."""
        until = time.monotonic() + seconds
        if self._outage_until is not None:
            self._outage_until = max(self._outage_until, until)
            self.console.log("ERROR", f"fault: WebSocket side down for {seconds:g} s more (an outage is under way)")
            return
        self._outage_until = until
        self.console.log("ERROR", f"fault: WebSocket side down for {seconds:g} s ({len(self._live)} connections dropped)")
        if self._server is not None:
            self._server.close()
        for live in list(self._live.values()):
            live.close_reason = (1006, "outage")
            live.writer.transport.abort()
        while (left := self._outage_until - time.monotonic()) > 0:
            await asyncio.sleep(left)
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=MAX_HEAD_BYTES)
        self._outage_until = None
        self.console.log("INFO", "fault over: WebSocket side accepting connections again")

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- one TCP connection: HTTP requests (management API, fault hooks) or one WebSocket ----------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        slot = self._half_open.slot()
        try:
            first = b""
            while True:
                if not slot.enter():
                    writer.write(response(503, {"message": "Too many connections opening at once"}))
                    return
                try:
                    head = await read_head(reader, self.head_timeout, first=first)
                    if head is None:
                        return
                    if head.is_websocket_upgrade:
                        await self._websocket(reader, writer, head, leave_half_open=slot.leave)
                        return
                    body = await read_body(reader, head, self.head_timeout)
                except BadRequest as bad:
                    self.console.log("REFUSED", f"HTTP {bad.status}: {bad.message}")
                    writer.write(response(bad.status, {"message": bad.message}))
                    await writer.drain()
                    return
                slot.leave()
                status, payload, extra = self._http(head, body)
                keep_alive = head.headers.get("connection", "").lower() != "close" and status != 202
                writer.write(response(status, payload, {"x-amzn-RequestId": str(uuid.uuid4()), **extra}, keep_alive=keep_alive))
                await writer.drain()
                if not keep_alive:
                    return
                first = await next_request(reader, KEEP_ALIVE_SECONDS)  # idle between requests: not half-open
                if not first:
                    return  # closed by the client, or idle too long: closed quietly
        except (BadRequest, OSError):  # a client that went away (reset, not connected): nothing to report
            return
        except asyncio.CancelledError:  # the gateway is stopping; asyncio's stream callback must not see it
            return
        finally:
            slot.leave()
            await _close(writer)

    def _http(self, head: RequestHead, body: bytes) -> tuple[int, Any, dict[str, str]]:
        """One plain HTTP request: the management API, or one of local mode's fault hooks."""
        method, target = head.method, head.target
        if self.faults.handles(urlsplit(target).path):
            status, payload, extra = self.faults.handle(method, target, head.headers, body)
            if status >= 400:
                self.console.log("REFUSED", f"{method} {urlsplit(target).path} → {status}")
            return status, payload, extra
        request = SignedRequest(method, target, head.headers, body)
        return management_api.answer(self.registry, request, self.api.stage_name, self.iam, self.console)

    # -- the handshake ------------------------------------------------------------------------------

    def _websocket_path(self, target: str) -> bool:
        return urlsplit(target).path in ("/", f"/{self.api.stage_name}", f"/{self.api.stage_name}/")

    async def _websocket(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        head: RequestHead,
        leave_half_open: Callable[[], None],
    ) -> None:
        protocol = ServerProtocol(max_size=self.max_message_bytes)
        connection_id = new_connection_id()
        try:
            if not self._websocket_path(head.target):
                await _refuse(writer, protocol, 403, "Forbidden")
                self.console.log("REFUSED", f"handshake refused: HTTP 403 (no WebSocket at {urlsplit(head.target).path})")
                return
            protocol.receive_data(head.raw)
            requests = [e for e in protocol.events_received() if isinstance(e, Request)]
            request = requests[0] if len(requests) == 1 else None
            accepted = protocol.accept(request) if request is not None else None
            if request is None or accepted is None or accepted.status_code != 101:
                # Malformed upgrade: answered before the authorizer or $connect run, as API Gateway does.
                await _refuse(writer, protocol, 400, "Bad Request", already_answered=request is None)
                self.console.log("REFUSED", "handshake refused: HTTP 400 (not a valid WebSocket upgrade)", connection_id)
                return
            status, identity = await self.integrations.admit(connection_id, head, self._context)
            if status >= 400:
                await _refuse(writer, protocol, status, HTTPStatus(status).phrase)
                self.console.log("REFUSED", f"handshake refused: HTTP {status}", connection_id)
                return
            protocol.send_response(accepted)
            live = LiveConnection(connection_id, protocol, writer, request)
            live.identity = identity
            live.flush()
        finally:
            leave_half_open()
        await self._connected(reader, writer, live, head)

    # -- an open connection ------------------------------------------------------------------------

    async def _connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, live: LiveConnection, head: RequestHead
    ) -> None:
        connection_id = live.connection_id
        self._live[connection_id] = live
        self.registry.add(
            Connection(
                connection_id,
                send=lambda text: self._threadsafe(live.send, text),
                close=lambda: self._threadsafe(live.close, 1000, ""),
                source_ip=writer.get_extra_info("peername", ("127.0.0.1",))[0],
                user_agent=head.headers.get("user-agent", ""),
            )
        )
        identity = live.identity
        who = f" customer={identity.get('customerId') or identity.get('principalId')}" if identity else ""
        self.console.log("CONNECT", f"{urlsplit(head.target).path}{who}", connection_id)  # never the token
        try:
            await read_messages(
                reader,
                live,
                lambda conn, body: self._spawn(self._message(conn, body)),
                idle_timeout=self.idle_timeout,
                max_lifetime=self.max_lifetime,
            )
        finally:
            self.registry.remove(connection_id)
            self._live.pop(connection_id, None)
            code, reason = live.close_reason or (live.protocol.close_code or 1006, live.protocol.close_reason or "")
            self.console.log("CLOSE", f"code {code} {reason}".rstrip(), connection_id)
            self._spawn(self._disconnect(live, code, reason))

    def _threadsafe(self, method: Callable[..., Any], *args: Any) -> Any:
        """Run a LiveConnection method on the loop; callable from the loop or from another thread."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            return method(*args)
        assert self.loop is not None, "the gateway has not started"
        return asyncio.run_coroutine_threadsafe(_call(method, *args), self.loop).result(timeout=5)

    async def _message(self, live: LiveConnection, body: str) -> None:
        request_id = str(uuid.uuid4())
        try:
            route_key = self.integrations.route_of(body)
            if route_key is None:
                live.send(json.dumps({"message": "Forbidden", "connectionId": live.connection_id, "requestId": request_id}))
                return
            self.console.log("ROUTE", f"{route_key} {body[:120]}", live.connection_id)
            event = events.message_event(
                route_key,
                live.connection_id,
                body,
                message_id=request_id,
                connected_at=live.connected_at,
                identity=live.identity,
                **self._context,
            )
            invocation = await self.integrations.invoke(route_key, event)
        except Exception as error:  # the gateway itself failed on this frame: answer, never go silent
            self.console.log("ERROR", f"message not routed: {type(error).__name__}", live.connection_id)
            invocation = Invocation(error={"errorType": type(error).__name__, "errorMessage": "gateway"})
            route_key = None
        if invocation.error:
            if route_key is not None:
                failure = invocation.error
                self.console.log(
                    "ERROR", f"{route_key}: {failure.get('errorType')}: {failure.get('errorMessage')}", live.connection_id
                )
            live.send(
                json.dumps({"message": "Internal server error", "connectionId": live.connection_id, "requestId": request_id})
            )
            return
        reply = invocation.payload if isinstance(invocation.payload, dict) else {}
        if route_key is not None and self.api.routes[route_key].return_response and reply.get("body") is not None:
            self.console.log("REPLY", str(reply["body"])[:160], live.connection_id)
            live.send(str(reply["body"]))

    async def _disconnect(self, live: LiveConnection, code: int, reason: str) -> None:
        if "$disconnect" not in self.api.routes:
            return
        event = events.disconnect_event(
            live.connection_id, code, reason, connected_at=live.connected_at, identity=live.identity, **self._context
        )
        invocation = await self.integrations.invoke("$disconnect", event)
        if invocation.error:
            self.console.log("ERROR", f"$disconnect: {invocation.error.get('errorMessage')}", live.connection_id)


async def _call(method: Callable[..., Any], *args: Any) -> Any:
    return method(*args)


async def _refuse(
    writer: asyncio.StreamWriter, protocol: ServerProtocol, status: int, reason: str, *, already_answered: bool = False
) -> None:
    """Answer a handshake with an HTTP error (websockets has answered a head it could not parse)."""
    if not already_answered:
        protocol.send_response(protocol.reject(status, reason))
    for chunk in protocol.data_to_send():
        writer.write(chunk)
    await writer.drain()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass
