"""DynamoDB access for connections, trackings and orders: every read and conditional write in one place.

Trackings table item:
    trackingId, customerId, orderId, executionName (the execution that may emit), state ("live" |
    "ended"), connectionId (absent while detached), nextSeq (seq the next emit must carry), events
    (every emitted frame, for replay), createdAt, expiresAt (TTL);
    leaseToken + leaseUntil (epoch ms): which post of the tracking may post to its connection right
    now (send_lease.py), taken by the same write that appends an event; sentConnection + sentSeq: the
    highest seq that connection has (posted, replayed, or named by the client's resume), written when
    the lease is released, so a retried emit does not post an event twice.
Connections table item:
    connectionId, customerId, connectedAt, trackingId (its current tracking, or its watch of a live
    order), liveOrderId (the live order it watches, if it does), lastRequestAt (receive time of the
    track_order that set it, to refuse older ones processed late), expiresAt (TTL).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from order_tracking import aws_clients, settings
from order_tracking.clock import epoch_seconds, iso_millis, now
from order_tracking.conditional import plain, update_if, update_or_old
from order_tracking.settings import OrderSettings, RetentionSettings, StoreSettings

CONNECTIONS_BY_CUSTOMER = "byCustomer"  # the index infra/tables.py defines


class TrackingState(StrEnum):
    LIVE = "live"
    ENDED = "ended"


class LeaseState(StrEnum):
    """What asking for a tracking's send lease found (take_send_lease)."""

    ACQUIRED = "acquired"  # this holder may post
    HELD = "held"  # another holder has it until its lease ends: wait
    SENT = "sent"  # the connection already has the event: nothing to post
    FENCED = "fenced"  # the tracking is ended, or not on this connection any more


# API Gateway closes a connection after 2 hours; keep its record a little longer than that.
CONNECTION_TTL = timedelta(hours=3)
LIVE_ORDER = "live"  # the `kind` of an orders-table item that backends publish to (live_store.py)


@dataclass
class Tracking:
    tracking_id: str
    customer_id: str
    order_id: str
    execution_name: str
    state: str
    next_seq: int
    connection_id: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    expires_at: int = 0
    lease_until: int = 0
    sent_connection: str | None = None
    sent_seq: int = 0

    def owned_by(self, execution_name: str) -> bool:
        """Whether `execution_name` may still emit for this tracking (it is live and the execution's)."""
        return self.execution_name == execution_name and self.state == TrackingState.LIVE

    def sent_to(self, connection_id: str) -> int:
        """The highest seq `connection_id` has of this tracking, as last recorded."""
        return self.sent_seq if self.sent_connection == connection_id else 0

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Tracking:
        item = plain(item)
        return cls(
            tracking_id=item["trackingId"],
            customer_id=item["customerId"],
            order_id=item["orderId"],
            execution_name=item["executionName"],
            state=item["state"],
            next_seq=item["nextSeq"],
            connection_id=item.get("connectionId"),
            events=item.get("events", []),
            expires_at=item.get("expiresAt", 0),
            lease_until=item.get("leaseUntil", 0),
            sent_connection=item.get("sentConnection"),
            sent_seq=item.get("sentSeq", 0),
        )


@dataclass
class Order:
    """An order as track_order finds it: a seed order's scripted events, or a live order's stream so far."""

    order_id: str
    customer_id: str
    events: list[dict[str, str]]
    live: bool = False
    stream_id: str = ""  # a live order's current life (live_store.py)
    expires_at: int = 0  # a live order's expiry (epoch seconds); seed orders never expire


@dataclass(frozen=True)
class CurrentTracking:
    """What a connection tracks: a tracking, or (`live_order_id` set) a watch of a live order."""

    tracking_id: str
    live_order_id: str | None = None

    @classmethod
    def of(cls, attributes: dict[str, Any]) -> CurrentTracking | None:
        tracking_id = attributes.get("trackingId")
        return cls(tracking_id, attributes.get("liveOrderId")) if tracking_id else None


class OvertakenRequest(Exception):
    """A later track_order of the same connection was processed first; this one must not take effect."""


class AppendRefused(Exception):
    """The emit's conditional write did not take; `tracking` is the item as it stands (None if gone)."""

    def __init__(self, tracking: Tracking | None) -> None:
        super().__init__("append refused")
        self.tracking = tracking


class LeaseHeld(Exception):
    """Another post of the tracking holds its send lease until `until` (epoch ms): wait, then retry."""

    def __init__(self, until: int) -> None:
        super().__init__(f"lease held until {until}")
        self.until = until


LEASE_FREE = "(attribute_not_exists(leaseToken) OR leaseUntil < :now)"  # a condition: no holder, or an expired one


class TrackingStore:
    def __init__(self) -> None:
        config = settings.load(StoreSettings)
        # Cached per process: a warm invocation builds nothing (an environment runs one invocation at a time).
        self.connections = aws_clients.table(config.connections_table)
        self.trackings = aws_clients.table(config.trackings_table)

    # -- connections ---------------------------------------------------------------------------

    def put_connection(self, connection_id: str, customer_id: str) -> None:
        moment = now()
        self.connections.put_item(
            Item={
                "connectionId": connection_id,
                "customerId": customer_id,
                "connectedAt": iso_millis(moment),
                "expiresAt": epoch_seconds(moment + CONNECTION_TTL),
            }
        )

    def open_connections(self, customer_id: str, up_to: int) -> int:
        """How many connections the customer has open, counted up to `up_to` (the cap): the query reads
        at most that many index items, however many the customer holds. The index is eventually
        consistent: a soft cap."""
        found = self.connections.query(
            IndexName=CONNECTIONS_BY_CUSTOMER,
            KeyConditionExpression="customerId = :c",
            ExpressionAttributeValues={":c": customer_id},
            Select="COUNT",
            Limit=max(1, up_to),
        )
        return int(found["Count"])

    def delete_connection(self, connection_id: str) -> CurrentTracking | None:
        """Delete the connection; returns what it tracked, if anything."""
        old = self.connections.delete_item(Key={"connectionId": connection_id}, ReturnValues="ALL_OLD")
        return CurrentTracking.of(old.get("Attributes", {}))

    def current_tracking(self, connection_id: str) -> str | None:
        """The connection's current tracking id (a consistent read)."""
        item = self.connections.get_item(
            Key={"connectionId": connection_id}, ConsistentRead=True, ProjectionExpression="trackingId"
        ).get("Item")
        return str(item["trackingId"]) if item and "trackingId" in item else None

    def switch_connection_tracking(
        self, connection_id: str, tracking_id: str | None, requested_at: int, *, live_order_id: str | None = None
    ) -> CurrentTracking | None:
        """Make `tracking_id` the connection's current tracking (None: no tracking), a watch of
        `live_order_id` if that is given; returns what the connection tracked before.

        One atomic write, so two concurrent track_order calls each learn a distinct predecessor to fence.
        API Gateway may run a connection's messages out of order: the write takes only if no request
        received later (`requested_at`, epoch ms) has switched the connection already, else it raises
        OvertakenRequest. Raises LookupError if the connection is gone.
        """
        sets, removes = ["lastRequestAt = :at"], []
        values: dict[str, Any] = {":at": requested_at}
        for attribute, value in (("trackingId", tracking_id), ("liveOrderId", live_order_id)):
            if value:
                sets.append(f"{attribute} = :{attribute}")
                values[f":{attribute}"] = value
            else:
                removes.append(attribute)
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        result, old = update_or_old(
            self.connections,
            Key={"connectionId": connection_id},
            UpdateExpression=update,
            ConditionExpression=(
                "attribute_exists(connectionId) AND (attribute_not_exists(lastRequestAt) OR lastRequestAt <= :at)"
            ),
            ExpressionAttributeValues=values,
            ReturnValues="UPDATED_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if result is None:
            raise LookupError(connection_id) if old is None else OvertakenRequest(connection_id)
        return CurrentTracking.of(result.get("Attributes", {}))

    # -- orders --------------------------------------------------------------------------------

    def get_order(self, order_id: str) -> Order | None:
        """The order, a consistent read (a live order's latest events are in it); None if there is
        none, or it is a live order past its retention."""
        orders = aws_clients.table(settings.load(OrderSettings).orders_table)  # only track_order reads orders
        item = orders.get_item(Key={"orderId": order_id}, ConsistentRead=True).get("Item")
        if item is None:
            return None
        order = Order(
            order_id=item["orderId"],
            customer_id=item["customerId"],
            events=plain(item["events"]),
            live=item.get("kind") == LIVE_ORDER,
            stream_id=str(item.get("streamId", "")),
            expires_at=int(item.get("expiresAt", 0)),
        )
        return None if order.live and order.expires_at < epoch_seconds(now()) else order

    # -- trackings -----------------------------------------------------------------------------

    def create_tracking(
        self,
        *,
        tracking_id: str,
        customer_id: str,
        order_id: str,
        connection_id: str,
        first_event: dict[str, Any],
        lease: tuple[str, int],
    ) -> Tracking:
        """A live tracking of `connection_id` with its first event stored (seq 1; the execution emits
        from seq 2 on), and its send lease held by `lease` = (token, until) to post that event.
        Returns it as written."""
        moment = now()
        item = {
            "leaseToken": lease[0],
            "leaseUntil": lease[1],
            "trackingId": tracking_id,
            "customerId": customer_id,
            "orderId": order_id,
            "executionName": tracking_id,
            "state": TrackingState.LIVE,
            "connectionId": connection_id,
            "nextSeq": 2,
            "events": [first_event],
            "createdAt": iso_millis(moment),
            "expiresAt": epoch_seconds(moment + timedelta(seconds=settings.load(RetentionSettings).retention_seconds)),
        }
        self.trackings.put_item(Item=item, ConditionExpression="attribute_not_exists(trackingId)")
        return Tracking.from_item(item)

    def get_tracking(self, tracking_id: str) -> Tracking | None:
        item = self.trackings.get_item(Key={"trackingId": tracking_id}, ConsistentRead=True).get("Item")
        return Tracking.from_item(item) if item else None

    def end_tracking(self, tracking_id: str, connection_id: str, now_ms: int, own_token: str | None = None) -> bool:
        """Fence a tracking its connection has replaced: its execution emits nothing more, and nothing
        of it is posted after this returns. Only if `connection_id` still holds it (a tracking resumed
        elsewhere is not ours to end), and only while no post of it holds the send lease (but
        `own_token`'s): raises LeaseHeld, so the caller waits for that post to land first."""
        result, old = update_or_old(
            self.trackings,
            Key={"trackingId": tracking_id},
            UpdateExpression="SET #state = :ended REMOVE connectionId, leaseToken, leaseUntil",
            ConditionExpression=f"connectionId = :c AND ({LEASE_FREE} OR leaseToken = :mine)",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":ended": TrackingState.ENDED,
                ":c": connection_id,
                ":now": now_ms,
                ":mine": own_token or "-",
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if result is not None:
            return True
        if old is None or old.get("connectionId") != connection_id:
            return False
        raise LeaseHeld(int(old.get("leaseUntil", 0)))

    def detach_tracking(self, tracking_id: str, connection_id: str) -> bool:
        """The connection is gone: keep the tracking running and its events for resume."""
        return (
            update_if(
                self.trackings,
                Key={"trackingId": tracking_id},
                UpdateExpression="REMOVE connectionId",
                ConditionExpression="connectionId = :c",
                ExpressionAttributeValues={":c": connection_id},
            )
            is not None
        )

    def attach_tracking(
        self, tracking_id: str, connection_id: str, customer_id: str, *, after_seq: int, lease: tuple[str, int], now_ms: int
    ) -> Tracking | None:
        """Re-point a customer's live tracking to a new connection, which has its events up to `after_seq`,
        and take its send lease (`lease` = token, until) to replay the rest, in one write. Returns it
        with every stored event; None if it is not the customer's, or ended. Raises LeaseHeld while a
        post to the previous connection is in flight."""
        result, old = update_or_old(
            self.trackings,
            Key={"trackingId": tracking_id},
            UpdateExpression=(
                "SET connectionId = :c, sentConnection = :c, sentSeq = :after, leaseToken = :token, leaseUntil = :until"
            ),
            ConditionExpression=f"customerId = :customer AND #state = :live AND {LEASE_FREE}",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":c": connection_id,
                ":customer": customer_id,
                ":live": TrackingState.LIVE,
                ":after": after_seq,
                ":token": lease[0],
                ":until": lease[1],
                ":now": now_ms,
            },
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if result is not None:
            return Tracking.from_item(result["Attributes"])
        if old is None or old.get("customerId") != customer_id or old.get("state") != TrackingState.LIVE:
            return None
        raise LeaseHeld(int(old.get("leaseUntil", 0)))

    def append_event(
        self, tracking_id: str, execution_name: str, frame: dict[str, Any], *, lease: tuple[str, int], now_ms: int
    ) -> Tracking:
        """Store `frame` as the tracking's next event and take its send lease (`lease` = token, until)
        to post it: the fence, the idempotency check and the lease in one write.

        Takes only if `execution_name` still owns the live tracking, `frame["seq"]` is the next seq and
        no other post holds the lease. Returns the tracking as written (its current connection
        included); raises LeaseHeld (wait, retry) or AppendRefused.
        """
        seq = frame["seq"]
        result, old = update_or_old(
            self.trackings,
            Key={"trackingId": tracking_id},
            UpdateExpression="SET events = list_append(events, :e), nextSeq = :next, leaseToken = :token, leaseUntil = :until",
            ConditionExpression=f"executionName = :x AND nextSeq = :seq AND #state = :live AND {LEASE_FREE}",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":e": [frame],
                ":next": seq + 1,
                ":x": execution_name,
                ":seq": seq,
                ":live": TrackingState.LIVE,
                ":token": lease[0],
                ":until": lease[1],
                ":now": now_ms,
            },
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if result is not None:
            return Tracking.from_item(result["Attributes"])
        current = Tracking.from_item(old) if old else None
        if current is not None and current.owned_by(execution_name) and current.next_seq == seq:
            raise LeaseHeld(current.lease_until)
        raise AppendRefused(current)

    def take_send_lease(
        self, tracking_id: str, connection_id: str, token: str, until_ms: int, now_ms: int, *, seq: int
    ) -> tuple[LeaseState, int]:
        """Take the tracking's send lease until `until_ms`, as holder `token`, to post its stored event
        `seq` to `connection_id` again (a retried emit). Returns (ACQUIRED, the highest seq the
        connection already has), (HELD, until of the current holder's lease), (SENT, 0) when the
        connection has event `seq`, or (FENCED, 0) when the tracking is ended or on another connection."""
        result, old = update_or_old(
            self.trackings,
            Key={"trackingId": tracking_id},
            UpdateExpression="SET leaseToken = :token, leaseUntil = :until",
            ConditionExpression=(
                f"connectionId = :c AND #state = :live AND {LEASE_FREE} AND NOT (sentConnection = :c AND sentSeq >= :seq)"
            ),
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":c": connection_id,
                ":live": TrackingState.LIVE,
                ":token": token,
                ":until": until_ms,
                ":now": now_ms,
                ":seq": seq,
            },
            ReturnValues="ALL_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if result is None:
            if not old or old.get("connectionId") != connection_id or old.get("state") != TrackingState.LIVE:
                return LeaseState.FENCED, 0
            if old.get("sentConnection") == connection_id and int(old.get("sentSeq", 0)) >= seq:
                return LeaseState.SENT, 0
            return LeaseState.HELD, int(old.get("leaseUntil", 0))
        before = result.get("Attributes", {})
        return LeaseState.ACQUIRED, int(before.get("sentSeq", 0)) if before.get("sentConnection") == connection_id else 0

    def release_send_lease(self, tracking_id: str, token: str, sent: tuple[str, int] | None = None) -> None:
        """Release the lease if holder `token` still has it (an expired lease may have a new holder),
        recording `sent` = (connection, highest seq it has) in the same write."""
        update = "REMOVE leaseToken, leaseUntil"
        values: dict[str, Any] = {":token": token}
        if sent is not None:
            update = "SET sentConnection = :c, sentSeq = :seq " + update
            values.update({":c": sent[0], ":seq": sent[1]})
        update_if(
            self.trackings,
            Key={"trackingId": tracking_id},
            UpdateExpression=update,
            ConditionExpression="leaseToken = :token",
            ExpressionAttributeValues=values,
        )
