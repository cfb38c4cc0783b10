"""DynamoDB access for live orders: each one's event stream, on its item of the orders table, and the
connections watching it, in the watchers table. Every read and conditional write of them is here.

Orders table item of a live order (a seed order has only orderId, customerId and events):
    orderId, kind ("live"), customerId (its owner, named by its first publish), streamId (new for each
    life of the order), events (every published event: type, label, status, at, and the publish's
    idempotency key; an event's seq is its position + 1), idempotencyKeys (the keys stored, a string
    set), sentSeq (the highest seq whose fan-out finished), leaseToken + leaseUntil (epoch ms: the
    fan-out lease, which one publish at a time holds while it posts), createdAt, expiresAt (TTL: the
    retention period after the last event). An order past its expiresAt is gone, as if DynamoDB's
    TTL had deleted it already (that takes up to a few days): the next publish starts a new life of
    it, with a new streamId and seq 1.
Watchers table item (orderId, connectionId):
    trackingId (the watch: its order's streamId, "-", a random part), sentSeq (the highest seq the
    watch's own replay posted), leaseToken + leaseUntil (held while that replay posts), expiresAt
    (TTL: a connection's longest life).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from order_tracking import aws_clients, settings
from order_tracking.clock import epoch_seconds, iso_millis, now
from order_tracking.conditional import delete_or_old, plain, put_or_old, update_if, update_or_old
from order_tracking.protocol import order_event_frame
from order_tracking.publish_request import PublishRefused, PublishRequest, Refusal
from order_tracking.settings import OrderSettings, RetentionSettings, WatcherSettings
from order_tracking.store import CONNECTION_TTL, LEASE_FREE, LIVE_ORDER, LeaseHeld

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
    sent_seq: int = 0
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
            sent_seq=item.get("sentSeq", 0),
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


@dataclass
class Watcher:
    order_id: str
    connection_id: str
    tracking_id: str
    sent_seq: int = 0
    lease_until: int = 0
    has_lease: bool = False

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Watcher:
        item = plain(item)
        return cls(
            order_id=item["orderId"],
            connection_id=item["connectionId"],
            tracking_id=item["trackingId"],
            sent_seq=item.get("sentSeq", 0),
            lease_until=item.get("leaseUntil", 0),
            has_lease="leaseToken" in item,
        )

    def replaying(self, now_ms: int) -> bool:
        """Whether the watch's own replay is posting to its connection right now."""
        return self.has_lease and self.lease_until >= now_ms


class AlreadyStored(Exception):
    """The publish's idempotency key is stored already, as event `seq` of `order`."""

    def __init__(self, order: LiveOrder, seq: int) -> None:
        super().__init__(f"stored as seq {seq}")
        self.order = order
        self.seq = seq


class LiveStore:
    """The tables are named by the settings groups each handler loads: track_order and publish read
    the orders table; track_order, disconnect and publish the watchers table."""

    @property
    def orders(self) -> Any:
        return aws_clients.table(settings.load(OrderSettings).orders_table)

    @property
    def watchers_table(self) -> Any:
        return aws_clients.table(settings.load(WatcherSettings).watchers_table)

    # -- the stream ----------------------------------------------------------------------------

    def read(self, order_id: str) -> LiveOrder | None:
        """The live order as it stands (a consistent read); None if there is none, or it has expired."""
        item = self.orders.get_item(Key={"orderId": order_id}, ConsistentRead=True).get("Item")
        if not item or item.get("kind") != LIVE_ORDER:
            return None
        order = LiveOrder.from_item(item)
        return None if order.expires_at < epoch_seconds(now()) else order

    def append(self, request: PublishRequest, *, lease: tuple[str, int], now_ms: int) -> LiveOrder:
        """Store the published event as the order's next one and take its fan-out lease (`lease` =
        token, until), in one conditional write: only for the order's owner, only for a new
        idempotency key, only within the event limit, only while no other publish holds the lease.
        The order's first publish creates it. Returns the order as written (its last event is this one).

        Raises AlreadyStored (the key is there), LeaseHeld (wait, retry) or PublishRefused."""
        moment = now()
        event = {**request.event, "at": iso_millis(moment), "key": request.idempotency_key}
        expires_at = epoch_seconds(moment + timedelta(seconds=settings.load(RetentionSettings).retention_seconds))
        for _ in range(MAX_APPEND_ATTEMPTS):
            result, old = update_or_old(
                self.orders,
                Key={"orderId": request.order_id},
                UpdateExpression=(
                    "SET #kind = :live, customerId = if_not_exists(customerId, :customer), "
                    "streamId = if_not_exists(streamId, :stream), createdAt = if_not_exists(createdAt, :at), "
                    "events = list_append(if_not_exists(events, :none), :event), sentSeq = if_not_exists(sentSeq, :zero), "
                    "expiresAt = :expires, leaseToken = :token, leaseUntil = :until ADD #keys :key"
                ),
                ConditionExpression=(
                    "(attribute_not_exists(orderId) OR (#kind = :live AND customerId = :customer AND expiresAt >= :now_s "
                    f"AND size(events) < :max)) AND NOT contains(#keys, :k) AND {LEASE_FREE}"
                ),
                ExpressionAttributeNames={"#kind": "kind", "#keys": "idempotencyKeys"},
                ExpressionAttributeValues={
                    ":live": LIVE_ORDER,
                    ":customer": request.customer_id,
                    ":stream": new_stream_id(),
                    ":at": event["at"],
                    ":none": [],
                    ":event": [event],
                    ":zero": 0,
                    ":expires": expires_at,
                    ":token": lease[0],
                    ":until": lease[1],
                    ":key": {request.idempotency_key},
                    ":k": request.idempotency_key,
                    ":now_s": now_ms // 1000,
                    ":now": now_ms,
                    ":max": MAX_EVENTS,
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            if result is not None:
                return LiveOrder.from_item(result["Attributes"])
            if old is None:
                continue  # deleted (by TTL) since the condition was checked: try again
            if old.get("kind") != LIVE_ORDER:
                raise PublishRefused(Refusal.NOT_LIVE, f"{request.order_id} is a simulated order")
            current = LiveOrder.from_item(old)
            if current.expires_at < now_ms // 1000:
                renewed = self._start_new_life(request, event, current, lease=lease, expires_at=expires_at)
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
        self, request: PublishRequest, event: dict[str, Any], expired: LiveOrder, *, lease: tuple[str, int], expires_at: int
    ) -> LiveOrder | None:
        """Replace an expired order with a new life (a new stream) whose first event is `event`;
        None if the item changed since it was read."""
        item = {
            "orderId": request.order_id,
            "kind": LIVE_ORDER,
            "customerId": request.customer_id,
            "streamId": new_stream_id(),
            "createdAt": event["at"],
            "events": [event],
            "idempotencyKeys": {request.idempotency_key},
            "sentSeq": 0,
            "leaseToken": lease[0],
            "leaseUntil": lease[1],
            "expiresAt": expires_at,
        }
        written, _ = put_or_old(
            self.orders,
            Item=item,
            ConditionExpression="expiresAt = :expired",
            ExpressionAttributeValues={":expired": expired.expires_at},
        )
        return LiveOrder.from_item(item) if written is not None else None

    def take_fanout_lease(self, order_id: str, *, lease: tuple[str, int], now_ms: int) -> LiveOrder:
        """Take the fan-out lease alone, to post a stored event again (a repeated publish whose fan-out
        did not finish). Returns the order; raises LeaseHeld, or LookupError if it is gone."""
        result, old = update_or_old(
            self.orders,
            Key={"orderId": order_id},
            UpdateExpression="SET leaseToken = :token, leaseUntil = :until",
            ConditionExpression=f"#kind = :live AND {LEASE_FREE}",
            ExpressionAttributeNames={"#kind": "kind"},
            ExpressionAttributeValues={":live": LIVE_ORDER, ":token": lease[0], ":until": lease[1], ":now": now_ms},
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if result is not None:
            return LiveOrder.from_item(result["Attributes"])
        if old is None or old.get("kind") != LIVE_ORDER:
            raise LookupError(order_id)
        raise LeaseHeld(int(old.get("leaseUntil", 0)))

    def renew_fanout_lease(self, order_id: str, token: str, until_ms: int) -> bool:
        """Extend holder `token`'s fan-out lease to `until_ms`; False if it no longer holds it."""
        return _lease_renewed(self.orders, {"orderId": order_id}, token, until_ms)

    def release_fanout_lease(self, order_id: str, token: str, sent_seq: int | None) -> None:
        """Release holder `token`'s fan-out lease, recording that the fan-out of `sent_seq` finished
        (None: it did not; a repeated publish will post that event again)."""
        _lease_released(self.orders, {"orderId": order_id}, token, sent_seq)

    def fanout_holder(self, order_id: str, now_ms: int) -> str | None:
        """The token of the publish posting the order's events right now, if one is."""
        item = self.orders.get_item(
            Key={"orderId": order_id}, ConsistentRead=True, ProjectionExpression="leaseToken, leaseUntil"
        ).get("Item")
        if not item or "leaseToken" not in item or int(item.get("leaseUntil", 0)) < now_ms:
            return None
        return str(item["leaseToken"])

    # -- watchers ------------------------------------------------------------------------------

    def watch(
        self, order_id: str, connection_id: str, tracking_id: str, *, lease: tuple[str, int], sent_seq: int, now_ms: int
    ) -> None:
        """Make `tracking_id` the connection's watch of the order, holding its replay lease (`lease` =
        token, until); `sent_seq`: the highest seq its connection has. Raises LeaseHeld while another
        watch of the connection's still replays."""
        moment = now()
        written, old = put_or_old(
            self.watchers_table,
            Item={
                "orderId": order_id,
                "connectionId": connection_id,
                "trackingId": tracking_id,
                "sentSeq": sent_seq,
                "leaseToken": lease[0],
                "leaseUntil": lease[1],
                "expiresAt": epoch_seconds(moment + CONNECTION_TTL),
            },
            ConditionExpression=LEASE_FREE,
            ExpressionAttributeValues={":now": now_ms},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if written is None:
            raise LeaseHeld(int((old or {}).get("leaseUntil", 0)))

    def renew_replay_lease(self, order_id: str, connection_id: str, token: str, until_ms: int) -> bool:
        return _lease_renewed(self.watchers_table, {"orderId": order_id, "connectionId": connection_id}, token, until_ms)

    def release_replay_lease(self, order_id: str, connection_id: str, token: str, sent_seq: int) -> None:
        """The watch's replay is done: its connection has events up to `sent_seq`."""
        _lease_released(self.watchers_table, {"orderId": order_id, "connectionId": connection_id}, token, sent_seq)

    def unwatch(self, order_id: str, connection_id: str, tracking_id: str, now_ms: int, own_token: str | None = None) -> bool:
        """Stop the watch `tracking_id` of the connection, once no replay of it posts (but `own_token`'s):
        raises LeaseHeld while one does. False when the connection has another watch of the order, or none."""
        result, old = delete_or_old(
            self.watchers_table,
            Key={"orderId": order_id, "connectionId": connection_id},
            ConditionExpression=f"trackingId = :t AND ({LEASE_FREE} OR leaseToken = :mine)",
            ExpressionAttributeValues={":t": tracking_id, ":now": now_ms, ":mine": own_token or "-"},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if result is not None:
            return True
        if old is None or old.get("trackingId") != tracking_id:
            return False
        raise LeaseHeld(int(old.get("leaseUntil", 0)))

    def drop_watch(self, order_id: str, connection_id: str, tracking_id: str) -> None:
        """Forget the watch whatever it is doing: its connection is gone (410, $disconnect)."""
        delete_or_old(
            self.watchers_table,
            Key={"orderId": order_id, "connectionId": connection_id},
            ConditionExpression="trackingId = :t",
            ExpressionAttributeValues={":t": tracking_id},
        )

    def watchers(self, order_id: str) -> list[Watcher]:
        """Every connection watching the order (a consistent query: a watch made before this call is in it)."""
        found: list[Watcher] = []
        request: dict[str, Any] = {
            "KeyConditionExpression": "orderId = :o",
            "ExpressionAttributeValues": {":o": order_id},
            "ConsistentRead": True,
        }
        while True:
            page = self.watchers_table.query(**request)
            found.extend(Watcher.from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def watcher(self, order_id: str, connection_id: str) -> Watcher | None:
        item = self.watchers_table.get_item(Key={"orderId": order_id, "connectionId": connection_id}, ConsistentRead=True).get(
            "Item"
        )
        return Watcher.from_item(item) if item else None


def _lease_renewed(table: Any, key: dict[str, str], token: str, until_ms: int) -> bool:
    return (
        update_if(
            table,
            Key=key,
            UpdateExpression="SET leaseUntil = :until",
            ConditionExpression="leaseToken = :token",
            ExpressionAttributeValues={":token": token, ":until": until_ms},
        )
        is not None
    )


def _lease_released(table: Any, key: dict[str, str], token: str, sent_seq: int | None) -> None:
    update = "REMOVE leaseToken, leaseUntil"
    values: dict[str, Any] = {":token": token}
    if sent_seq is not None:
        update = "SET sentSeq = :seq " + update
        values[":seq"] = sent_seq
    update_if(
        table, Key=key, UpdateExpression=update, ConditionExpression="leaseToken = :token", ExpressionAttributeValues=values
    )
