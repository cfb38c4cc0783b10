"""$connect: store the connection and its customer. A non-2xx status refuses the handshake: 429 when
the customer already has the configured number of connections open."""

from typing import Any

from order_tracking import settings
from order_tracking.observability import Metric, count, logger
from order_tracking.routes import connection_id, customer_id, websocket_route
from order_tracking.settings import ConnectionCapSettings, StoreSettings
from order_tracking.store import TrackingStore

SETTINGS = (StoreSettings, ConnectionCapSettings)


@websocket_route(SETTINGS)
def handler(event: dict[str, Any]) -> dict[str, Any]:
    store = TrackingStore()
    customer = customer_id(event)
    cap = settings.load(ConnectionCapSettings).max_connections_per_customer
    if store.open_connections(customer, up_to=cap) >= cap:
        logger.warning("connection refused: customer at their cap", extra={"customer_id": customer, "cap": cap})
        count(Metric.CONNECTIONS_REFUSED)
        return {"statusCode": 429}
    store.put_connection(connection_id(event), customer)
    count(Metric.CONNECTIONS_OPENED)
    logger.info("connected", extra={"customer_id": customer})
    return {"statusCode": 200}
