"""API Gateway WebSocket events for tests that call handlers directly: the shapes local mode's gateway
builds (local/gateway/events.py), addressed as the deployed dev stage."""

from __future__ import annotations

import uuid
from typing import Any

from local.cli.tokens import DEMO_CUSTOMER_ID
from local.gateway.events import base_event

DOMAIN = "local.execute-api.us-east-1.amazonaws.com"


def websocket_event(
    route_key: str, connection_id: str, body: Any = None, authorizer: dict | None = None, received_at: int | None = None
) -> dict[str, Any]:
    """An event as API Gateway sends it to a route: the authorizer's context names `authorizer`'s
    customer, or the seed orders' owner when the test does not care which customer it is."""
    if authorizer is None:
        authorizer = {"customerId": DEMO_CUSTOMER_ID, "principalId": DEMO_CUSTOMER_ID}
    event = base_event(route_key, connection_id, stage="dev", domain_name=DOMAIN, identity=authorizer, received_at=received_at)
    event["requestContext"]["messageId"] = uuid.uuid4().hex[:16]
    if body is not None:
        event["body"] = body
    return event
