"""$default: every frame no route matched: bad_request if it is not a JSON object, else unknown_type."""

from typing import Any

from order_tracking.connections.routes import websocket_route
from order_tracking.wire.frames import classify_unrouted

SETTINGS = ()  # reads no configuration of the stack


@websocket_route(SETTINGS)
def handler(event: dict[str, Any]) -> dict[str, Any]:
    raise classify_unrouted(event.get("body"))
