"""$disconnect: forget the connection; its tracking runs on and keeps its events for resume (a live
order's watch just ends: its events are the order's)."""

from typing import Any

from order_tracking import tracking
from order_tracking.connections.routes import connection_id, websocket_route
from order_tracking.runtime.settings import StoreSettings, WatcherSettings

SETTINGS = (StoreSettings, WatcherSettings)


@websocket_route(SETTINGS)
def handler(event: dict[str, Any]) -> dict[str, Any]:
    tracking.disconnect(connection_id(event))
    return {"statusCode": 200}
