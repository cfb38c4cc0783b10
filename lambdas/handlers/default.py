"""$default: every frame no route matched: bad_request if it is not a JSON object, else unknown_type."""

from order_tracking.protocol import classify_unrouted
from order_tracking.routes import websocket_route


@websocket_route
def handler(event):
    raise classify_unrouted(event.get("body"))
