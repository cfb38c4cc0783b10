"""$connect: store the connection and its customer. A non-2xx status refuses the handshake."""

from order_tracking.observability import logger
from order_tracking.routes import connection_id, customer_id, websocket_route
from order_tracking.store import TrackingStore


@websocket_route
def handler(event):
    TrackingStore().put_connection(connection_id(event), customer_id(event))
    logger.info("connected")
    return {"statusCode": 200}
