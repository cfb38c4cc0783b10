"""track_order: start (or resume) tracking an order; the events follow from the state machine, or
for a live order from its publishes."""

from typing import Any

from order_tracking import tracking
from order_tracking.connections.routes import connection_id, customer_id, reply, requested_at, websocket_route
from order_tracking.runtime.settings import (
    GatewaySettings,
    OrderSettings,
    RetentionSettings,
    StoreSettings,
    TrackingSettings,
    WatcherSettings,
)
from order_tracking.simulated import lifecycle  # noqa: F401 - the simulated path's, imported at init, not on the first request
from order_tracking.wire.track_order import parse_track_order

SETTINGS = (StoreSettings, OrderSettings, RetentionSettings, TrackingSettings, WatcherSettings, GatewaySettings)


@websocket_route(SETTINGS)
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse_track_order(event.get("body"))
    tracking.track(request, connection_id(event), customer_id(event), requested_at(event))
    return reply()
