"""API Gateway WebSocket events, shaped as the Lambda proxy integration delivers them."""

from __future__ import annotations

import time
import uuid
from typing import Any


def websocket_event(
    route_key: str, connection_id: str, body: Any = None, authorizer: dict | None = None, received_at: int | None = None
) -> dict[str, Any]:
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route_key, "MESSAGE")
    context: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "connectionId": connection_id,
        "requestId": uuid.uuid4().hex,
        "messageId": uuid.uuid4().hex[:16],
        "domainName": "local.execute-api.us-east-1.amazonaws.com",
        "stage": "dev",
        "apiId": "local",
        "connectedAt": int(time.time() * 1000),
        "requestTimeEpoch": received_at or int(time.time() * 1000),
        "identity": {"sourceIp": "127.0.0.1"},
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
    if body is not None:
        event["body"] = body
    return event
