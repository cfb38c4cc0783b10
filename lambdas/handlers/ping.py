"""ping: answer pong, which also keeps an idle connection inside API Gateway's 10-minute timeout.
A ping frame is held to the same 4 KB limit (and JSON) as every other frame."""

from typing import Any

from order_tracking.connections.routes import reply, websocket_route
from order_tracking.wire.frames import decode_frame, pong_frame

SETTINGS = ()  # reads no configuration of the stack


@websocket_route(SETTINGS)
def handler(event: dict[str, Any]) -> dict[str, Any]:
    decode_frame(event.get("body"))
    return reply(pong_frame())
