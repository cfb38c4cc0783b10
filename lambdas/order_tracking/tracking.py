"""The requests a connection makes of its trackings, whatever the kind of order: track_order (start,
resume or watch) and $disconnect. A connection tracks one thing at a time; moving it fences what it
tracked before (connections/switch.py), in the way of that thing's kind: a simulated tracking is ended
(simulated/), a watch of a live order is stopped (live/).

`requested_at` (epoch ms, when API Gateway received the frame) orders a connection's requests: one
overtaken by a later request, which API Gateway happened to run first, has no effect.
"""

from __future__ import annotations

from order_tracking import wiring
from order_tracking.connections.store import CurrentTracking, OvertakenRequest
from order_tracking.connections.switch import Switch
from order_tracking.orders.catalog import OrderKind
from order_tracking.runtime.observability import logger

# What $disconnect always needs is imported at init (wiring.py imports lazily); track_order's handler
# imports the simulated lifecycle itself; the live modules only when a live order is met.
from order_tracking.simulated.trackings import TrackingStore
from order_tracking.wire.frames import ErrorCode, ProtocolError
from order_tracking.wire.track_order import TrackOrder


def track(request: TrackOrder, connection_id: str, customer_id: str, requested_at: int) -> None:
    """Answer track_order: watch a live order; resume the named tracking of a simulated one, or start
    a new one. Sends errors as ProtocolError."""
    logger.append_keys(order_id=request.orderId, customer_id=customer_id)
    switch = Switch(wiring.connections(), connection_id, requested_at, fence)
    try:
        order = wiring.catalog().find(request.orderId)
        if order is None or order.customer_id != customer_id:
            # Even an unknown order ends the previous tracking (protocol: timing and cancellation).
            # Fencing it waits for its post in flight, if any: the error does not overtake it.
            switch.to(None)
            raise ProtocolError(ErrorCode.ORDER_NOT_FOUND, "no such order", request.orderId)
        if order.kind == OrderKind.LIVE:
            wiring.watching().watch(order, request.resume, switch)
            return
        tracker = wiring.tracker()
        if request.resume is None or not tracker.resume(order, request.resume, connection_id, customer_id, switch):
            tracker.start(order, connection_id, customer_id, switch, wiring.executions())
    except OvertakenRequest:
        logger.info("request overtaken by a later one of the same connection: ignored")


def fence(connection_id: str, previous: CurrentTracking) -> None:
    """Fence what the connection tracked before, after any post of it in flight has landed."""
    if previous.kind == OrderKind.LIVE:
        wiring.watching().stop(connection_id, previous)
    else:
        wiring.tracker().fence(connection_id, previous.tracking_id)


def disconnect(connection_id: str) -> None:
    """Forget the connection; its tracking runs on and keeps its events for resume (a watch just ends:
    its events are the order's)."""
    current = wiring.connections().delete(connection_id)
    if current is not None and current.kind == OrderKind.LIVE and current.live_order_id:
        wiring.watchers().drop(current.live_order_id, connection_id, current.tracking_id)
    elif current is not None:
        trackings: TrackingStore = wiring.trackings()
        trackings.detach(current.tracking_id, connection_id)
    logger.info("disconnected", extra={"tracking_id": current.tracking_id if current else None})
