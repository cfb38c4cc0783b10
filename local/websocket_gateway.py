"""An API Gateway WebSocket API emulator: one port serves the WebSocket endpoint and the `@connections`
management API, as the template's routes describe them.

What it does as API Gateway does:
- The $connect route's REQUEST authorizer runs first: a missing identity source is 401 without calling
  it, its "Unauthorized" error is 401, another error 500, a policy that does not allow the route 403;
  its `context` (and `principalId`) reaches every later event as `requestContext.authorizer`.
- `$connect` runs before the handshake completes; a handler status >= 400 (or a handler error) refuses
  it with that HTTP status and no connection is made.
- Each message picks its route by the route selection expression (`$request.body.type`), falling back
  to `$default`; routes with a route response send the handler's `body` back to the client. A failing
  handler gets the client API Gateway's `{"message": "Internal server error", ...}`.
- `$disconnect` runs after a close from either side, with the close code and reason.
- Limits that bite in production: 128 KB messages (a larger one closes the connection with 1009),
  a 10-minute idle timeout and a 2-hour connection lifetime (both close with 1001; configurable).
- `POST`/`GET`/`DELETE /{stage}/@connections/{id}` (this stage only; 410 for unknown ids), signed with
  SigV4 by a key local mode knows and allowed by the caller's IAM policies (`execute-api:ManageConnections`):
  unsigned, wrongly signed or denied calls get API Gateway's 403.

Fault hooks for tests (not API Gateway features): `POST /_local/faults/outage?seconds=N` drops every
connection without a close frame (clients see 1006) and refuses new ones for N seconds, as if the
WebSocket side crashed and restarted, while DynamoDB and Step Functions keep running; and
`GET`/`POST /_local/faults` reads or sets the fault plan of `local/faults.py`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from websockets.frames import Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from local import management_api, sigv4
from local.console import Console
from local.faults import PLAN
from local.iam import AccessDenied, LocalIam
from local.lambda_runtime import Invocation
from local.management_api import Connection, ConnectionRegistry
from local.sigv4 import SignedRequest
from local.template import ACCOUNT_ID, API_ID, REGION, AuthorizerSpec, WebSocketApiSpec

MAX_MESSAGE_BYTES = 128 * 1024
IDLE_TIMEOUT_SECONDS = 10 * 60
MAX_LIFETIME_SECONDS = 2 * 60 * 60
MAX_HEAD_BYTES = 64 * 1024
GOING_AWAY = 1001
OUTAGE_PATH = "/_local/faults/outage"
FAULTS_PATH = "/_local/faults"

Invoke = Callable[[str, dict[str, Any]], Invocation]


def new_connection_id() -> str:
    """Shaped like API Gateway's: 16 characters of base64, often ending in '='."""
    return base64.b64encode(secrets.token_bytes(11)).decode()[:15] + "="


def _epoch_ms() -> int:
    return int(time.time() * 1000)


def _request_time() -> str:
    return datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            name = name.strip().lower()
            headers[name] = f"{headers[name]},{value.strip()}" if name in headers else value.strip()
    return method.upper(), target, headers


def select_route(expression: str, body: str, routes: dict[str, Any]) -> str | None:
    """The route key for a message: the value at `$request.body.<path>` if a route has it, else `$default`."""
    if expression.startswith("$request.body."):
        try:
            value: Any = json.loads(body)
            for part in expression.removeprefix("$request.body.").split("."):
                value = value.get(part) if isinstance(value, dict) else None
        except ValueError:
            value = None
        if isinstance(value, str) and value in routes and not value.startswith("$"):
            return value
    return "$default" if "$default" in routes else None


class LiveConnection:
    """One accepted WebSocket connection. Methods run on the event loop's thread only."""

    def __init__(self, connection_id: str, protocol: ServerProtocol, writer: asyncio.StreamWriter, request: Request) -> None:
        self.connection_id = connection_id
        self.protocol = protocol
        self.writer = writer
        self.request = request
        self.connected_at = _epoch_ms()
        self.last_message = time.monotonic()
        self.close_reason: tuple[int, str] | None = None
        self.identity: dict[str, Any] | None = None  # the authorizer's context, on every event

    def flush(self) -> None:
        for chunk in self.protocol.data_to_send():
            if chunk:
                self.writer.write(chunk)
            elif self.writer.can_write_eof():  # an empty chunk asks to half-close the TCP connection
                self.writer.write_eof()

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
    ) -> None:
        self.api = api
        self.iam = iam or LocalIam({})  # no roles: only local mode's administrator may call @connections
        self._invoke_blocking = invoke
        self.host = host
        self.port = port
        self.registry = registry or ConnectionRegistry()
        self.console = console or Console(quiet=True)
        self.idle_timeout = idle_timeout
        self.max_lifetime = max_lifetime
        self.max_message_bytes = max_message_bytes
        self._executor = ThreadPoolExecutor(max_workers=invoke_threads, thread_name_prefix="route")
        self._server: asyncio.base_events.Server | None = None
        self._live: dict[str, LiveConnection] = {}
        self._tasks: set[asyncio.Task] = set()
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def management_endpoint(self) -> str:
        """`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}` of this gateway."""
        return f"http://{self.host}:{self.port}/{self.api.stage_name}"

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
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def outage(self, seconds: float) -> None:
        """Crash and restart the WebSocket side: abort every connection, refuse new ones for `seconds`."""
        self.console.log("ERROR", f"fault: WebSocket side down for {seconds:g} s ({len(self._live)} connections dropped)")
        self._server.close()
        for live in list(self._live.values()):
            live.close_reason = (1006, "outage")
            live.writer.transport.abort()
        await asyncio.sleep(seconds)
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=MAX_HEAD_BYTES)
        self.console.log("INFO", "fault over: WebSocket side accepting connections again")

    async def _invoke(self, route_key: str, event: dict[str, Any]) -> Invocation:
        return await self._invoke_function(self.api.routes[route_key].function, event)

    async def _invoke_function(self, function: str, event: dict[str, Any]) -> Invocation:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._invoke_blocking, function, event)

    async def _authorize(
        self, spec: AuthorizerSpec, connection_id: str, target: str, headers: dict[str, str]
    ) -> tuple[int, dict | None]:
        """(0, authorizer context) when admitted, else (HTTP status, None)."""
        query = dict(parse_qsl(urlsplit(target).query, keep_blank_values=True))
        for source in spec.identity_source:
            kind, _, name = source.removeprefix("route.request.").partition(".")
            value = query.get(name) if kind == "querystring" else headers.get(name.lower())
            if not value:
                return 401, None
        event = self._connect_event(connection_id, target, headers)
        method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{self.api.stage_name}/$connect"
        event.update({"type": "REQUEST", "methodArn": method_arn, "stageVariables": {}})
        invocation = await self._invoke_function(spec.function, event)
        if invocation.error:
            return (401 if invocation.error.get("errorMessage") == "Unauthorized" else 500), None
        policy = invocation.payload if isinstance(invocation.payload, dict) else {}
        statements = (policy.get("policyDocument") or {}).get("Statement") or []
        allowed = any(
            st.get("Effect") == "Allow" and st.get("Resource") in (method_arn, "*", [method_arn]) for st in statements
        ) and not any(st.get("Effect") == "Deny" for st in statements)
        if not allowed:
            return 403, None
        return 0, {**(policy.get("context") or {}), "principalId": policy.get("principalId")}

    def _spawn(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- one TCP connection: HTTP requests (management API) or one WebSocket ------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, target, headers = parse_head(head)
                if method == "GET" and "websocket" in headers.get("upgrade", "").lower():
                    await self._websocket(reader, writer, head, target, headers)
                    return
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                status, payload, extra = self._http(method, target, headers, body)
                data = json.dumps(payload).encode() if payload is not None else b""
                keep_alive = headers.get("connection", "").lower() != "close" and status != 202
                lines = [
                    f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
                    f"Content-Length: {len(data)}",
                    "Content-Type: application/json",
                    f"x-amzn-RequestId: {uuid.uuid4()}",
                    "Connection: keep-alive" if keep_alive else "Connection: close",
                    *(f"{name}: {value}" for name, value in extra.items()),
                ]
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
                await writer.drain()
                if not keep_alive:
                    return
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            return
        except asyncio.CancelledError:  # the gateway is stopping; asyncio's stream callback must not see it
            return
        finally:
            writer.close()

    def _http(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, dict[str, str]]:
        """One plain HTTP request: the management API, or one of local mode's fault hooks."""
        url = urlsplit(target)
        if url.path == OUTAGE_PATH and method == "POST":
            self._spawn(self.outage(float(dict(parse_qsl(url.query)).get("seconds", "3"))))
            return 202, None, {}
        if url.path == FAULTS_PATH:
            if method == "POST":
                try:
                    PLAN.configure(json.loads(body or b"{}"))
                except (ValueError, TypeError) as error:
                    return 400, {"message": str(error)}, {}
            return 200, PLAN.report(), {}
        refused = self._refuse_management_call(method, target, headers, body)
        if refused is not None:
            self._log_management(method, target, refused[0], body)
            return refused
        if method == "POST" and PLAN.strike("management"):
            self.console.log("ERROR", "fault: @connections answered 500")
            return 500, {"message": "Internal server error"}, {"x-amzn-ErrorType": "InternalServerError"}
        status, payload = management_api.handle(self.registry, method, url.path, body)
        self._log_management(method, target, status, body)
        return status, payload, {"x-amzn-ErrorType": "GoneException"} if status == 410 else {}

    def _refuse_management_call(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]] | None:
        """As API Gateway: only this stage's path; SigV4 by a known key; IAM execute-api:ManageConnections."""
        path = urlsplit(target).path
        prefix = f"/{self.api.stage_name}/@connections/"
        if not path.startswith(prefix) or "/" in path.removeprefix(prefix):
            return 403, {"message": "Forbidden"}, {"x-amzn-ErrorType": "ForbiddenException"}
        try:
            key = sigv4.verify(SignedRequest(method, target, headers, body), self.iam.secrets())
            connection_id = unquote(path.removeprefix(prefix))
            resource = (
                f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{self.api.stage_name}/{method}/@connections/{connection_id}"
            )
            self.iam.check(key, "execute-api:ManageConnections", [resource])
        except sigv4.SignatureRefused as refused:
            return 403, {"message": refused.message}, {"x-amzn-ErrorType": refused.code}
        except AccessDenied as denied:
            return 403, {"Message": denied.message}, {"x-amzn-ErrorType": "AccessDeniedException"}
        return None

    def _log_management(self, method: str, target: str, status: int, body: bytes) -> None:
        connection_id = unquote(urlsplit(target).path.rsplit("/", 1)[-1])
        if method == "POST" and status == 200:
            try:
                frame = json.loads(body)
                text = f"← {frame.get('type')} seq={frame.get('seq')} {frame.get('label', '')!r}"
            except ValueError:
                text = f"← {len(body)} bytes"
            self.console.log("EMIT", text, connection_id)
        else:
            self.console.log("INFO", f"{method} @connections → {status}", connection_id)

    async def _websocket(self, reader, writer, head: bytes, target: str, headers: dict[str, str]) -> None:
        protocol = ServerProtocol(max_size=self.max_message_bytes)
        protocol.receive_data(head)
        (request,) = [e for e in protocol.events_received() if isinstance(e, Request)] or [None]
        if request is None:
            return
        connection_id = new_connection_id()
        authorizer = self.api.routes["$connect"].authorizer
        status, identity = await self._authorize(authorizer, connection_id, target, headers) if authorizer else (0, None)
        if not status:
            invocation = await self._invoke("$connect", self._connect_event(connection_id, target, headers, identity))
            status = 500 if invocation.error else int((invocation.payload or {}).get("statusCode", 200))
        if status >= 400:
            protocol.send_response(protocol.reject(status, _reason(status)))
            for chunk in protocol.data_to_send():
                writer.write(chunk)
            await writer.drain()
            self.console.log("REFUSED", f"handshake refused: HTTP {status}", connection_id)
            return
        response = protocol.accept(request)
        protocol.send_response(response)
        live = LiveConnection(connection_id, protocol, writer, request)
        live.identity = identity
        live.flush()
        if response.status_code != 101:
            await writer.drain()
            return
        self._live[connection_id] = live
        self.registry.add(
            Connection(
                connection_id,
                send=lambda text: self._threadsafe(live.send, text),
                close=lambda: self._threadsafe(live.close, 1000, ""),
                source_ip=writer.get_extra_info("peername", ("127.0.0.1",))[0],
                user_agent=headers.get("user-agent", ""),
            )
        )
        who = f" customer={identity.get('customerId') or identity.get('principalId')}" if identity else ""
        self.console.log("CONNECT", f"{urlsplit(target).path}{who}", connection_id)  # never the token
        try:
            await self._read_messages(reader, live)
        finally:
            self.registry.remove(connection_id)
            self._live.pop(connection_id, None)
            code, reason = live.close_reason or (protocol.close_code or 1006, protocol.close_reason or "")
            self.console.log("CLOSE", f"code {code} {reason}".rstrip(), connection_id)
            self._spawn(self._disconnect(live, code, reason))

    def _threadsafe(self, method: Callable, *args: Any) -> Any:
        """Run a LiveConnection method on the loop; callable from the loop or from another thread."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            return method(*args)
        return asyncio.run_coroutine_threadsafe(_call(method, *args), self.loop).result(timeout=5)

    async def _read_messages(self, reader: asyncio.StreamReader, live: LiveConnection) -> None:
        fragments: list[bytes] = []
        while live.protocol.state is not State.CLOSED:
            now = time.monotonic()
            idle_left = live.last_message + self.idle_timeout - now
            life_left = live.connected_at / 1000 + self.max_lifetime - time.time()
            try:
                data = await asyncio.wait_for(reader.read(65536), max(0.0, min(idle_left, life_left)))
            except TimeoutError:
                live.close(GOING_AWAY, "Going away")
                await _drain(live.writer)
                await _wait_closed(reader, live)
                return
            if not data:
                live.protocol.receive_eof()
                return
            live.protocol.receive_data(data)
            for frame in live.protocol.events_received():
                if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                    fragments = [frame.data]
                elif frame.opcode is Opcode.CONT and fragments:
                    fragments.append(frame.data)
                else:
                    continue  # control frames: the protocol already answered pings and closes
                if frame.fin:
                    message, fragments = b"".join(fragments), []
                    live.last_message = time.monotonic()
                    self._spawn(self._message(live, message.decode("utf-8", "replace")))
            if live.protocol.close_code == 1009 and live.close_reason is None:
                live.close_reason = (1009, "Message too big")
            live.flush()
            await _drain(live.writer)

    async def _message(self, live: LiveConnection, body: str) -> None:
        route_key = select_route(self.api.route_selection_expression, body, self.api.routes)
        request_id = str(uuid.uuid4())
        if route_key is None:
            live.send(json.dumps({"message": "Forbidden", "connectionId": live.connection_id, "requestId": request_id}))
            return
        self.console.log("ROUTE", f"{route_key} {body[:120]}", live.connection_id)
        invocation = await self._invoke(route_key, self._message_event(live, route_key, body, request_id))
        if invocation.error:
            self.console.log(
                "ERROR",
                f"{route_key}: {invocation.error.get('errorType')}: {invocation.error.get('errorMessage')}",
                live.connection_id,
            )
            live.send(
                json.dumps({"message": "Internal server error", "connectionId": live.connection_id, "requestId": request_id})
            )
            return
        reply = invocation.payload if isinstance(invocation.payload, dict) else {}
        if self.api.routes[route_key].return_response and reply.get("body") is not None:
            self.console.log("REPLY", str(reply["body"])[:160], live.connection_id)
            live.send(str(reply["body"]))

    async def _disconnect(self, live: LiveConnection, code: int, reason: str) -> None:
        if "$disconnect" not in self.api.routes:
            return
        event = self._base_event(live.connection_id, "$disconnect", "DISCONNECT", live.connected_at, live.identity)
        event["requestContext"].update({"disconnectStatusCode": code, "disconnectReason": reason})
        event["headers"] = {"Host": f"{self.host}:{self.port}", "x-api-key": ""}
        invocation = await self._invoke("$disconnect", event)
        if invocation.error:
            self.console.log("ERROR", f"$disconnect: {invocation.error.get('errorMessage')}", live.connection_id)

    # -- API Gateway event shapes -----------------------------------------------------------------

    def _base_event(
        self, connection_id: str, route_key: str, event_type: str, connected_at: int, identity: dict | None = None
    ) -> dict[str, Any]:
        event = {
            "requestContext": {
                "routeKey": route_key,
                "eventType": event_type,
                "extendedRequestId": uuid.uuid4().hex[:16],
                "requestTime": _request_time(),
                "messageDirection": "IN",
                "stage": self.api.stage_name,
                "connectedAt": connected_at,
                "requestTimeEpoch": _epoch_ms(),
                "identity": {"sourceIp": self.host},
                "requestId": uuid.uuid4().hex[:16],
                "domainName": f"{self.host}:{self.port}",
                "connectionId": connection_id,
                "apiId": API_ID,
            },
            "isBase64Encoded": False,
        }
        if identity is not None:
            event["requestContext"]["authorizer"] = identity
        return event

    def _connect_event(
        self, connection_id: str, target: str, headers: dict[str, str], identity: dict | None = None
    ) -> dict[str, Any]:
        event = self._base_event(connection_id, "$connect", "CONNECT", _epoch_ms(), identity)
        query = parse_qsl(urlsplit(target).query, keep_blank_values=True)
        event["headers"] = {k.title(): v for k, v in headers.items()}
        event["multiValueHeaders"] = {k.title(): v.split(",") for k, v in headers.items()}
        if query:
            event["queryStringParameters"] = dict(query)
            multi: dict[str, list[str]] = {}
            for key, value in query:
                multi.setdefault(key, []).append(value)
            event["multiValueQueryStringParameters"] = multi
        event["requestContext"]["identity"]["userAgent"] = headers.get("user-agent", "")
        return event

    def _message_event(self, live: LiveConnection, route_key: str, body: str, request_id: str) -> dict[str, Any]:
        event = self._base_event(live.connection_id, route_key, "MESSAGE", live.connected_at, live.identity)
        event["requestContext"]["messageId"] = request_id[:16]
        event["body"] = body
        return event


async def _call(method: Callable, *args: Any) -> Any:
    return method(*args)


async def _drain(writer: asyncio.StreamWriter) -> None:
    try:
        await writer.drain()
    except ConnectionError:
        pass


async def _wait_closed(reader: asyncio.StreamReader, live: LiveConnection, timeout: float = 2.0) -> None:
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


def _reason(status: int) -> str:
    return {401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests"}.get(status, "Internal Server Error")
