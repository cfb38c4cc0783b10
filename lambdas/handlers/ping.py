"""ping: answer pong, which also keeps an idle connection inside API Gateway's 10-minute timeout."""

from order_tracking.protocol import pong_frame
from order_tracking.routes import reply, websocket_route


@websocket_route
def handler(event):
    return reply(pong_frame())
