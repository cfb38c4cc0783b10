"""API Gateway WebSocket events, shaped as the Lambda proxy integration delivers them: what local
mode's gateway hands the route handlers and the authorizer, and what the tests build their events with."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.template.names import ACCOUNT_ID, API_ID, REGION

EVENT_TYPES = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}


def epoch_ms() -> int:
    return int(time.time() * 1000)


def request_time() -> str:
    return datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def base_event(
    route_key: str,
    connection_id: str,
    *,
    stage: str,
    domain_name: str,
    connected_at: int | None = None,
    identity: dict[str, Any] | None = None,
    source_ip: str = "127.0.0.1",
    received_at: int | None = None,
) -> dict[str, Any]:
    """The `requestContext` every WebSocket event carries; `identity` is the authorizer's context."""
    context: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": EVENT_TYPES.get(route_key, "MESSAGE"),
        "extendedRequestId": uuid.uuid4().hex[:16],
        "requestTime": request_time(),
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": connected_at or epoch_ms(),
        "requestTimeEpoch": received_at or epoch_ms(),
        "identity": {"sourceIp": source_ip},
        "requestId": uuid.uuid4().hex[:16],
        "domainName": domain_name,
        "connectionId": connection_id,
        "apiId": API_ID,
    }
    if identity is not None:
        context["authorizer"] = identity
    return {"requestContext": context, "isBase64Encoded": False}


def connect_event(
    connection_id: str, target: str, headers: dict[str, str], *, identity: dict[str, Any] | None = None, **context: Any
) -> dict[str, Any]:
    """`$connect`: the handshake's headers and query string (names as the client sent them, title-cased)."""
    event = base_event("$connect", connection_id, identity=identity, **context)
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


def authorizer_event(connection_id: str, target: str, headers: dict[str, str], **context: Any) -> dict[str, Any]:
    """A REQUEST authorizer's event on `$connect`: the connect event plus its type and method ARN."""
    event = connect_event(connection_id, target, headers, **context)
    method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{context['stage']}/$connect"
    event.update({"type": "REQUEST", "methodArn": method_arn, "stageVariables": {}})
    return event


def message_event(
    route_key: str, connection_id: str, body: str, *, message_id: str | None = None, **context: Any
) -> dict[str, Any]:
    event = base_event(route_key, connection_id, **context)
    event["requestContext"]["messageId"] = (message_id or uuid.uuid4().hex)[:16]
    event["body"] = body
    return event


def disconnect_event(connection_id: str, code: int, reason: str, **context: Any) -> dict[str, Any]:
    event = base_event("$disconnect", connection_id, **context)
    event["requestContext"].update({"disconnectStatusCode": code, "disconnectReason": reason})
    event["headers"] = {"Host": context["domain_name"], "x-api-key": ""}
    return event
