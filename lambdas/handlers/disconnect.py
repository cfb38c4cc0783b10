"""$disconnect: forget the connection; its tracking runs on and keeps its events for resume."""

from order_tracking import tracking
from order_tracking.routes import connection_id, websocket_route


@websocket_route
def handler(event):
    tracking.disconnect(connection_id(event))
    return {"statusCode": 200}
