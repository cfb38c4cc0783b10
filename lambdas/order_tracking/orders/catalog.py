"""The orders table as track_order reads it: an order's kind, its owner and its events so far. A
simulated (seed) order's events are its script, which an execution plays; a live order's are what its
backend has published, and its stream names the current life of the order (live/streams.py writes
them). An item's `kind` decides how the order is tracked; without one it is a simulated order."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from order_tracking.aws import clients
from order_tracking.aws.conditional import plain
from order_tracking.wire.clock import epoch_seconds, now


class OrderKind(StrEnum):
    SIMULATED = "simulated"  # a seed order (infra/seed_orders.py writes them at deploy)
    LIVE = "live"  # published by a shop's backend

    @classmethod
    def of(cls, value: object) -> OrderKind:
        """The kind an item's `kind` names. Only "live" is live: an item written without one (by hand,
        as the browser tests and an operator adding a demo order do) is a scripted order, as ever."""
        return cls.LIVE if value == cls.LIVE.value else cls.SIMULATED


@dataclass(frozen=True)
class Order:
    """An order as track_order finds it: a seed order's scripted events, or a live order's stream so far."""

    order_id: str
    customer_id: str
    kind: OrderKind
    events: list[dict[str, str]]
    stream_id: str = ""  # a live order's current life (live/streams.py)
    expires_at: int = 0  # a live order's expiry (epoch seconds); seed orders never expire

    @property
    def live(self) -> bool:
        return self.kind == OrderKind.LIVE


class OrderCatalog:
    def __init__(self, orders_table: str) -> None:
        self.orders = clients.table(orders_table)

    def find(self, order_id: str) -> Order | None:
        """The order, a consistent read (a live order's latest events are in it); None if there is
        none, or it is a live order past its retention."""
        item = self.orders.get_item(Key={"orderId": order_id}, ConsistentRead=True).get("Item")
        if item is None:
            return None
        order = order_of(item)
        return None if order.live and order.expires_at < epoch_seconds(now()) else order


def order_of(item: dict[str, Any]) -> Order:
    return Order(
        order_id=item["orderId"],
        customer_id=item["customerId"],
        kind=OrderKind.of(item.get("kind")),
        events=plain(item["events"]),
        stream_id=str(item.get("streamId", "")),
        expires_at=int(item.get("expiresAt", 0)),
    )
