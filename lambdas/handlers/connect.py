"""$connect: store the connection and its customer. A non-2xx status refuses the handshake: 429 when
the customer already has the configured number of connections open."""

from typing import Any

from order_tracking import wiring
from order_tracking.connections.routes import connection_id, customer_id, websocket_route
from order_tracking.connections.store import ConnectionStore  # imported at init, not on the first request
from order_tracking.runtime import settings
from order_tracking.runtime.observability import Metric, count, logger
from order_tracking.runtime.settings import ConnectionCapSettings, StoreSettings

SETTINGS = (StoreSettings, ConnectionCapSettings)


@websocket_route(SETTINGS)
def handler(event: dict[str, Any]) -> dict[str, Any]:
    connections: ConnectionStore = wiring.connections()
    customer = customer_id(event)
    cap = settings.load(ConnectionCapSettings).max_connections_per_customer
    if connections.open_count(customer, up_to=cap) >= cap:
        logger.warning("connection refused: customer at their cap", extra={"customer_id": customer, "cap": cap})
        count(Metric.CONNECTIONS_REFUSED)
        return {"statusCode": 429}
    connections.put(connection_id(event), customer)
    count(Metric.CONNECTIONS_OPENED)
    logger.info("connected", extra={"customer_id": customer})
    return {"statusCode": 200}
