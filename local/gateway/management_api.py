"""The API Gateway connection management API (`@connections`), served locally.

`POST /@connections/{id}` sends the body to that connection, `GET` describes it, `DELETE` closes it;
an unknown id answers 410 Gone, as on AWS. A call is answered only for this stage's path, signed with
SigV4 by a key local mode knows and allowed by the caller's IAM policies (`execute-api:ManageConnections`):
unsigned, wrongly signed or denied calls get API Gateway's 403. The WebSocket gateway registers each open connection here;
tests can register recording connections instead.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

from local.console.lines import Console
from local.faults.plan import PLAN
from local.iam import sigv4
from local.iam.policies import AccessDenied, LocalIam
from local.iam.sigv4 import SignedRequest
from local.template.names import ACCOUNT_ID, API_ID, REGION

PATH = re.compile(r"^(?:/[^/@]+)?/@connections/(?P<id>[^/]+)$")  # the gateway allows only its own stage prefix
MAX_POST_BYTES = 128 * 1024


@dataclass
class Connection:
    connection_id: str
    send: Callable[[str], None]
    close: Callable[[], None]
    source_ip: str = "127.0.0.1"
    user_agent: str = ""
    connected_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_active_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class ConnectionRegistry:
    """The open connections, by id. Thread-safe."""

    def __init__(self) -> None:
        self._connections: dict[str, Connection] = {}
        self._lock = threading.Lock()

    def add(self, connection: Connection) -> None:
        with self._lock:
            self._connections[connection.connection_id] = connection

    def remove(self, connection_id: str) -> Connection | None:
        with self._lock:
            return self._connections.pop(connection_id, None)

    def get(self, connection_id: str) -> Connection | None:
        with self._lock:
            return self._connections.get(connection_id)

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._connections)

    def __len__(self) -> int:
        with self._lock:
            return len(self._connections)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def handle(registry: ConnectionRegistry, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any] | None]:
    """One management API request; returns (HTTP status, JSON body or None)."""
    match = PATH.match(path)
    if not match:
        return 404, {"message": "Not Found"}
    connection = registry.get(unquote(match.group("id")))  # SDKs percent-encode "+", "/" and "="
    if connection is None:
        return 410, {"message": "Gone"}
    if method == "POST":
        if len(body) > MAX_POST_BYTES:
            return 413, {"message": "Request Entity Too Large"}
        connection.send(body.decode("utf-8", "replace"))
        return 200, None
    if method == "GET":
        return 200, {
            "connectedAt": _iso(connection.connected_at),
            "lastActiveAt": _iso(connection.last_active_at),
            "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
        }
    if method == "DELETE":
        connection.close()
        return 204, None
    return 405, {"message": "Method Not Allowed"}


class ManagementApp:
    """The management API as a WSGI app (for tests and any server that speaks WSGI)."""

    def __init__(self, registry: ConnectionRegistry) -> None:
        self.registry = registry

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        status, payload = handle(self.registry, environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), body)
        data = json.dumps(payload).encode() if payload is not None else b""
        headers = [("Content-Length", str(len(data)))]
        if status == 410:
            headers.append(("x-amzn-ErrorType", "GoneException"))
        if data:
            headers.append(("Content-Type", "application/json"))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [data]


def answer(
    registry: ConnectionRegistry, request: SignedRequest, stage: str, iam: LocalIam, console: Console
) -> tuple[int, Any, dict[str, str]]:
    """A call of `stage`'s management API as API Gateway answers it: refused unless it is this stage's
    path, signed with SigV4 by a known key and allowed by the caller's IAM policies
    (execute-api:ManageConnections); then the fault plan's 500, or the call itself. Logged on the console."""
    method, target, body = request.method, request.target, request.body
    refused = _refusal(request, stage, iam)
    if refused is not None:
        _log(console, method, target, refused[0], body)
        return refused
    if method == "POST" and PLAN.strike("management"):
        console.log("ERROR", "fault: @connections answered 500")
        return 500, {"message": "Internal server error"}, {"x-amzn-ErrorType": "InternalServerError"}
    status, payload = handle(registry, method, urlsplit(target).path, body)
    _log(console, method, target, status, body)
    return status, payload, {"x-amzn-ErrorType": "GoneException"} if status == 410 else {}


def _refusal(request: SignedRequest, stage: str, iam: LocalIam) -> tuple[int, Any, dict[str, str]] | None:
    path = urlsplit(request.target).path
    prefix = f"/{stage}/@connections/"
    if not path.startswith(prefix) or "/" in path.removeprefix(prefix):
        return 403, {"message": "Forbidden"}, {"x-amzn-ErrorType": "ForbiddenException"}
    connection_id = unquote(path.removeprefix(prefix))
    resource = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{stage}/{request.method}/@connections/{connection_id}"
    try:
        iam.authorize(request, "execute-api:ManageConnections", [resource])
    except sigv4.SignatureRefused as refused:
        return 403, {"message": refused.message}, {"x-amzn-ErrorType": refused.code}
    except AccessDenied as denied:
        return 403, {"Message": denied.message}, {"x-amzn-ErrorType": "AccessDeniedException"}
    return None


def _log(console: Console, method: str, target: str, status: int, body: bytes) -> None:
    connection_id = unquote(urlsplit(target).path.rsplit("/", 1)[-1])
    if method == "POST" and status == 200:
        try:
            frame = json.loads(body)
            text = f"← {frame.get('type')} seq={frame.get('seq')} {frame.get('label', '')!r}"
        except (ValueError, RecursionError, AttributeError):
            text = f"← {len(body)} bytes"
        console.log("EMIT", text, connection_id)
    else:
        console.log("INFO", f"{method} {urlsplit(target).path} → {status}", connection_id)
