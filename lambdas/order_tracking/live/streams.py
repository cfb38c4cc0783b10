"""A live order's event stream, on its item of the orders table: every read and conditional write of it.

Orders table item of a live order (a seed order has only orderId, customerId, kind and events):
    orderId, kind ("live"), customerId (its owner, named by its first publish), streamId (new for each
    life of the order), events (every published event: type, label, status, at, and the publish's
    idempotency key; an event's seq is its position + 1), idempotencyKeys (the keys stored, a string
    set), fannedOutSeq (the highest seq whose fan-out finished), leaseToken + leaseUntil (the fan-out
    lease, which one publish at a time holds while it posts: delivery/lease.py), createdAt, expiresAt
    (TTL: the retention period after the last event). An order past its expiresAt is gone, as if
    DynamoDB's TTL had deleted it already (that takes up to a few days): the next publish starts a new
    life of it, with a new streamId and seq 1.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from order_tracking.aws import clients
from order_tracking.aws.conditional import plain, put_or_old, update_or_old
from order_tracking.delivery import lease
from order_tracking.delivery.lease import Lease, LeaseHeld, held_until
from order_tracking.orders.catalog import OrderKind
from order_tracking.wire.clock import epoch_seconds, iso_millis, now
from order_tracking.wire.frames import order_event_frame
from order_tracking.wire.publish import PublishRefused, PublishRequest, Refusal

MAX_EVENTS = 200  # per order: its whole stream is one item (400 KB at most), rewritten by each publish
MAX_APPEND_ATTEMPTS = 3


def new_stream_id() -> str:
    return uuid.uuid4().hex


@dataclass
class LiveOrder:
    order_id: str
    customer_id: str
    stream_id: str
    events: list[dict[str, Any]]
    fanned_out_seq: int = 0
    lease_token: str | None = None
    lease_until: int = 0
    expires_at: int = 0

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> LiveOrder:
        item = plain(item)
        return cls(
            order_id=item["orderId"],
            customer_id=item["customerId"],
            stream_id=item["streamId"],
            events=item.get("events", []),
            fanned_out_seq=item.get("fannedOutSeq", 0),
            lease_token=item.get("leaseToken"),
            lease_until=item.get("leaseUntil", 0),
            expires_at=item.get("expiresAt", 0),
        )

    @property
    def last_seq(self) -> int:
        return len(self.events)

    def seq_of(self, key: str) -> int | None:
        """The seq of the event stored under idempotency key `key`."""
        return next((i for i, event in enumerate(self.events, start=1) if event.get("key") == key), None)

    def frame(self, seq: int, tracking_id: str) -> dict[str, Any]:
        """Event `seq` as the watch `tracking_id` receives it (eventId and trackingId are the watch's)."""
        event = self.events[seq - 1]
        return order_event_frame(tracking_id=tracking_id, order_id=self.order_id, seq=seq, event=event, at=event["at"])


class AlreadyStored(Exception):
    """The publish's idempotency key is stored already, as event `seq` of `order`."""

    def __init__(self, order: LiveOrder, seq: int) -> None:
        super().__init__(f"stored as seq {seq}")
        self.order = order
        self.seq = seq


class StreamStore:
    def __init__(self, orders_table: str, retention_seconds: int) -> None:
        self.orders = clients.table(orders_table)
        self.retention = timedelta(seconds=retention_seconds)

    def read(self, order_id: str) -> LiveOrder | None:
        """The live order as it stands (a consistent read); None if there is none, or it has expired."""
        item = self.orders.get_item(Key={"orderId": order_id}, ConsistentRead=True).get("Item")
        if not item or item.get("kind") != OrderKind.LIVE:
            return None
        order = LiveOrder.from_item(item)
        return None if order.expires_at < epoch_seconds(now()) else order

    def append(self, request: PublishRequest, *, held: Lease, now_ms: int) -> LiveOrder:
        """Store the published event as the order's next one and take its fan-out lease (`held`), in one
        conditional write: only for the order's owner, only for a new idempotency key, only within the
        event limit, only while no other publish holds the lease. The order's first publish creates it.
        Returns the order as written (its last event is this one).

        Raises AlreadyStored (the key is there), LeaseHeld (wait, retry) or PublishRefused."""
        moment = now()
        event = {**request.event, "at": iso_millis(moment), "key": request.idempotency_key}
        expires_at = epoch_seconds(moment + self.retention)
        for _ in range(MAX_APPEND_ATTEMPTS):
            result, old = update_or_old(
                self.orders,
                Key={"orderId": request.order_id},
                UpdateExpression=(
                    "SET #kind = :live, customerId = if_not_exists(customerId, :customer), "
                    "streamId = if_not_exists(streamId, :stream), createdAt = if_not_exists(createdAt, :at), "
                    "events = list_append(if_not_exists(events, :none), :event), "
                    f"fannedOutSeq = if_not_exists(fannedOutSeq, :zero), expiresAt = :expires, {lease.TAKE} ADD #keys :key"
                ),
                ConditionExpression=(
                    "(attribute_not_exists(orderId) OR (#kind = :live AND customerId = :customer AND expiresAt >= :now_s "
                    f"AND size(events) < :max)) AND NOT contains(#keys, :k) AND {lease.FREE}"
                ),
                ExpressionAttributeNames={"#kind": "kind", "#keys": "idempotencyKeys"},
                ExpressionAttributeValues={
                    ":live": OrderKind.LIVE,
                    ":customer": request.customer_id,
                    ":stream": new_stream_id(),
                    ":at": event["at"],
                    ":none": [],
                    ":event": [event],
                    ":zero": 0,
                    ":expires": expires_at,
                    ":key": {request.idempotency_key},
                    ":k": request.idempotency_key,
                    ":now_s": now_ms // 1000,
                    ":max": MAX_EVENTS,
                    **held.values(now_ms),
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            if result is not None:
                return LiveOrder.from_item(result["Attributes"])
            if old is None:
                continue  # deleted (by TTL) since the condition was checked: try again
            if old.get("kind") != OrderKind.LIVE:
                raise PublishRefused(Refusal.NOT_LIVE, f"{request.order_id} is a simulated order")
            current = LiveOrder.from_item(old)
            if current.expires_at < now_ms // 1000:
                renewed = self._start_new_life(request, event, current, held=held, expires_at=expires_at)
                if renewed is not None:
                    return renewed
                continue
            if current.customer_id != request.customer_id:
                raise PublishRefused(Refusal.NOT_OWNER, f"{request.order_id} belongs to another customer")
            seq = current.seq_of(request.idempotency_key)
            if seq is not None:
                raise AlreadyStored(current, seq)
            if current.last_seq >= MAX_EVENTS:
                raise PublishRefused(Refusal.EVENT_LIMIT, f"{request.order_id} holds {MAX_EVENTS} events, the most an order may")
            raise LeaseHeld(current.lease_until)
        raise RuntimeError(f"the append to {request.order_id} kept meeting a concurrent change")

    def _start_new_life(
        self, request: PublishRequest, event: dict[str, Any], expired: LiveOrder, *, held: Lease, expires_at: int
    ) -> LiveOrder | None:
        """Replace an expired order with a new life (a new stream) whose first event is `event`;
        None if the item changed since it was read."""
        item = {
            "orderId": request.order_id,
            "kind": OrderKind.LIVE.value,
            "customerId": request.customer_id,
            "streamId": new_stream_id(),
            "createdAt": event["at"],
            "events": [event],
            "idempotencyKeys": {request.idempotency_key},
            "fannedOutSeq": 0,
            "leaseToken": held.token,
            "leaseUntil": held.until,
            "expiresAt": expires_at,
        }
        written, _ = put_or_old(
            self.orders,
            Item=item,
            ConditionExpression="expiresAt = :expired",
            ExpressionAttributeValues={":expired": expired.expires_at},
        )
        return LiveOrder.from_item(item) if written is not None else None

    def take_fanout_lease(self, order_id: str, *, held: Lease, now_ms: int) -> LiveOrder:
        """Take the fan-out lease alone, to post a stored event again (a repeated publish whose fan-out
        did not finish). Returns the order; raises LeaseHeld, or LookupError if it is gone."""
        result, old = update_or_old(
            self.orders,
            Key={"orderId": order_id},
            UpdateExpression=f"SET {lease.TAKE}",
            ConditionExpression=f"#kind = :live AND {lease.FREE}",
            ExpressionAttributeNames={"#kind": "kind"},
            ExpressionAttributeValues={":live": OrderKind.LIVE, **held.values(now_ms)},
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if result is not None:
            return LiveOrder.from_item(result["Attributes"])
        if old is None or old.get("kind") != OrderKind.LIVE:
            raise LookupError(order_id)
        raise LeaseHeld(held_until(old))

    def renew_fanout_lease(self, order_id: str, token: str, until_ms: int) -> bool:
        """Extend holder `token`'s fan-out lease to `until_ms`; False if it no longer holds it."""
        return lease.renew(self.orders, {"orderId": order_id}, token, until_ms)

    def release_fanout_lease(self, order_id: str, token: str, fanned_out_seq: int | None) -> None:
        """Release holder `token`'s fan-out lease, recording that the fan-out of `fanned_out_seq`
        finished (None: it did not; a repeated publish will post that event again)."""
        lease.release(
            self.orders, {"orderId": order_id}, token, None if fanned_out_seq is None else {"fannedOutSeq": fanned_out_seq}
        )

    def fanout_holder(self, order_id: str, now_ms: int) -> str | None:
        """The token of the publish posting the order's events right now, if one is."""
        item = self.orders.get_item(
            Key={"orderId": order_id}, ConsistentRead=True, ProjectionExpression="leaseToken, leaseUntil"
        ).get("Item")
        if not item or "leaseToken" not in item or int(item.get("leaseUntil", 0)) < now_ms:
            return None
        return str(item["leaseToken"])
