"""DynamoDB access for connections, trackings and orders: every read and conditional write in one place.

Trackings table item:
    trackingId, customerId, orderId, executionName (the execution that may emit), state ("live" |
    "ended"), connectionId (absent while detached), nextSeq (seq the next emit must carry), events
    (every emitted frame, for replay), createdAt, expiresAt (TTL).
Connections table item:
    connectionId, customerId, connectedAt, trackingId (its current tracking), lastRequestAt (receive
    time of the track_order that set it, to refuse older ones processed late), expiresAt (TTL),
    leaseOwner + leaseToken + leaseUntil (epoch ms): the tracking, and which of its posts, may post to
    it right now (send_lease.py); sentTracking + sentSeq: the highest seq of that tracking this
    connection has (posted, or named by the client's resume), written when the lease is released, so
    a retried emit does not post an event twice (and marking it costs no write of its own).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from order_tracking import aws_clients, settings
from order_tracking.clock import epoch_seconds, iso_millis, now
from order_tracking.settings import StoreSettings, TrackingSettings

CONNECTIONS_BY_CUSTOMER = "byCustomer"  # the index infra/tables.py defines


class TrackingState(StrEnum):
    LIVE = "live"
    ENDED = "ended"


class LeaseState(StrEnum):
    """What asking for a connection's send lease found (take_send_lease)."""

    ACQUIRED = "acquired"  # this holder may post
    HELD = "held"  # another holder has it until its lease ends: wait
    SENT = "sent"  # the connection already has the event: nothing to post
    FENCED = "fenced"  # the connection is gone or carries another tracking now


# API Gateway closes a connection after 2 hours; keep its record a little longer than that.
CONNECTION_TTL = timedelta(hours=3)
_DESERIALIZE = TypeDeserializer()


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals as ints, recursively."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _typed_item(typed: dict[str, Any] | None) -> dict[str, Any] | None:
    """An item from an error response, which the resource API leaves in DynamoDB's typed JSON."""
    return {k: _DESERIALIZE.deserialize(v) for k, v in typed.items()} if typed else None


def _condition_failed(error: ClientError) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def _update_if(table: Any, **request: Any) -> dict[str, Any] | None:
    """A conditional `update_item`: its response, or None when the condition did not hold."""
    return _update_or_old(table, **request)[0]


def _update_or_old(table: Any, **request: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A conditional `update_item`: (its response, None), or (None, the item as it stood, if any) when
    the condition did not hold and the request asked for ReturnValuesOnConditionCheckFailure."""
    try:
        return table.update_item(**request), None
    except ClientError as error:
        if _condition_failed(error):
            return None, _typed_item(error.response.get("Item"))
        raise


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

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Tracking:
        item = _plain(item)
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
        )


@dataclass
class Order:
    order_id: str
    customer_id: str
    events: list[dict[str, str]]


class OvertakenRequest(Exception):
    """A later track_order of the same connection was processed first; this one must not take effect."""


class AppendRefused(Exception):
    """The emit's conditional write did not take; `tracking` is the item as it stands (None if gone)."""

    def __init__(self, tracking: Tracking | None) -> None:
        super().__init__("append refused")
        self.tracking = tracking


class TrackingStore:
    def __init__(self) -> None:
        config = settings.load(StoreSettings)
        # Cached per process: a warm invocation builds nothing (an environment runs one invocation at a time).
        self.connections = aws_clients.table(config.connections_table)
        self.trackings = aws_clients.table(config.trackings_table)
        self.retention = timedelta(hours=config.retention_hours)

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

    def delete_connection(self, connection_id: str) -> str | None:
        """Delete the connection; returns the tracking it had, if any."""
        old = self.connections.delete_item(Key={"connectionId": connection_id}, ReturnValues="ALL_OLD")
        tracking_id: str | None = old.get("Attributes", {}).get("trackingId")
        return tracking_id

    def switch_connection_tracking(self, connection_id: str, tracking_id: str | None, requested_at: int) -> str | None:
        """Make `tracking_id` the connection's current tracking (None: no tracking); returns the previous one.

        One atomic write, so two concurrent track_order calls each learn a distinct predecessor to fence.
        API Gateway may run a connection's messages out of order: the write takes only if no request
        received later (`requested_at`, epoch ms) has switched the connection already, else it raises
        OvertakenRequest. Raises LookupError if the connection is gone.
        """
        update = "SET lastRequestAt = :at" + (", trackingId = :t" if tracking_id else " REMOVE trackingId")
        values: dict[str, Any] = {":at": requested_at, **({":t": tracking_id} if tracking_id else {})}
        result, old = _update_or_old(
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
        previous: str | None = result.get("Attributes", {}).get("trackingId")
        return previous

    def take_send_lease(
        self, connection_id: str, tracking_id: str, token: str, until_ms: int, now_ms: int, *, seq: int = 0
    ) -> tuple[LeaseState, int]:
        """Take the connection's send lease for `tracking_id` until `until_ms`, as holder `token`, to
        post event `seq` (0: several, a replay).

        The lease has one holder at a time, even within a tracking (a resume's replay and a live
        emit take turns), so that releasing it never frees it under another post still in flight.
        Returns ("acquired", the highest seq of this tracking the connection already has), ("held",
        until of the current holder's lease), ("sent", 0) when the connection already has event
        `seq`, or ("fenced", 0) when the connection is gone or carries another tracking now.
        """
        condition = "trackingId = :t AND (attribute_not_exists(leaseOwner) OR leaseUntil < :now)"
        values: dict[str, Any] = {":t": tracking_id, ":token": token, ":until": until_ms, ":now": now_ms}
        if seq:
            condition += " AND NOT (sentTracking = :t AND sentSeq >= :seq)"
            values[":seq"] = seq
        result, old = _update_or_old(
            self.connections,
            Key={"connectionId": connection_id},
            UpdateExpression="SET leaseOwner = :t, leaseToken = :token, leaseUntil = :until",
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if result is None:
            if not old or old.get("trackingId") != tracking_id:
                return LeaseState.FENCED, 0
            if seq and old.get("sentTracking") == tracking_id and int(old.get("sentSeq", 0)) >= seq:
                return LeaseState.SENT, 0
            return LeaseState.HELD, int(old.get("leaseUntil", 0))
        before = result.get("Attributes", {})
        return LeaseState.ACQUIRED, int(before.get("sentSeq", 0)) if before.get("sentTracking") == tracking_id else 0

    def release_send_lease(self, connection_id: str, token: str, sent: tuple[str, int] | None = None) -> None:
        """Release the lease if holder `token` still has it (an expired lease may have a new holder),
        recording `sent` = (tracking, highest seq the connection has) in the same write."""
        update = "REMOVE leaseOwner, leaseToken, leaseUntil"
        values: dict[str, Any] = {":token": token}
        if sent is not None:
            update = "SET sentTracking = :t, sentSeq = :seq " + update
            values.update({":t": sent[0], ":seq": sent[1]})
        _update_if(
            self.connections,
            Key={"connectionId": connection_id},
            UpdateExpression=update,
            ConditionExpression="leaseToken = :token",
            ExpressionAttributeValues=values,
        )

    def foreign_lease_until(self, connection_id: str, tracking_id: str | None) -> int:
        """Until when (epoch ms) a tracking other than `tracking_id` holds the connection's send lease; 0: none."""
        item = self.connections.get_item(Key={"connectionId": connection_id}, ConsistentRead=True).get("Item") or {}
        owner = item.get("leaseOwner")
        return int(item.get("leaseUntil", 0)) if owner is not None and owner != tracking_id else 0

    # -- orders --------------------------------------------------------------------------------

    def get_order(self, order_id: str) -> Order | None:
        orders = aws_clients.table(settings.load(TrackingSettings).orders_table)  # only track_order reads orders
        item = orders.get_item(Key={"orderId": order_id}).get("Item")
        if item is None:
            return None
        return Order(order_id=item["orderId"], customer_id=item["customerId"], events=_plain(item["events"]))

    # -- trackings -----------------------------------------------------------------------------

    def create_tracking(
        self, *, tracking_id: str, customer_id: str, order_id: str, connection_id: str, first_event: dict[str, Any]
    ) -> Tracking:
        """A live tracking of `connection_id` with its first event stored (seq 1; the execution emits
        from seq 2 on). Returns it as written."""
        moment = now()
        item = {
            "trackingId": tracking_id,
            "customerId": customer_id,
            "orderId": order_id,
            "executionName": tracking_id,
            "state": TrackingState.LIVE,
            "connectionId": connection_id,
            "nextSeq": 2,
            "events": [first_event],
            "createdAt": iso_millis(moment),
            "expiresAt": epoch_seconds(moment + self.retention),
        }
        self.trackings.put_item(Item=item, ConditionExpression="attribute_not_exists(trackingId)")
        return Tracking.from_item(item)

    def get_tracking(self, tracking_id: str) -> Tracking | None:
        item = self.trackings.get_item(Key={"trackingId": tracking_id}, ConsistentRead=True).get("Item")
        return Tracking.from_item(item) if item else None

    def end_tracking(self, tracking_id: str, connection_id: str) -> bool:
        """Fence a tracking its connection has replaced: its execution emits nothing more.

        Only if `connection_id` still holds it (a tracking resumed elsewhere is not ours to end).
        """
        return (
            _update_if(
                self.trackings,
                Key={"trackingId": tracking_id},
                UpdateExpression="SET #state = :ended REMOVE connectionId",
                ConditionExpression="connectionId = :c",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":ended": TrackingState.ENDED, ":c": connection_id},
            )
            is not None
        )

    def detach_tracking(self, tracking_id: str, connection_id: str) -> bool:
        """The connection is gone: keep the tracking running and its events for resume."""
        return (
            _update_if(
                self.trackings,
                Key={"trackingId": tracking_id},
                UpdateExpression="REMOVE connectionId",
                ConditionExpression="connectionId = :c",
                ExpressionAttributeValues={":c": connection_id},
            )
            is not None
        )

    def attach_tracking(self, tracking_id: str, connection_id: str, customer_id: str) -> Tracking | None:
        """Re-point a customer's tracking to a new connection; returns it with every stored event."""
        result = _update_if(
            self.trackings,
            Key={"trackingId": tracking_id},
            UpdateExpression="SET connectionId = :c",
            ConditionExpression="customerId = :customer",
            ExpressionAttributeValues={":c": connection_id, ":customer": customer_id},
            ReturnValues="ALL_NEW",
        )
        return Tracking.from_item(result["Attributes"]) if result else None

    def append_event(self, tracking_id: str, execution_name: str, frame: dict[str, Any]) -> Tracking:
        """Store `frame` as the tracking's next event: the fence and the idempotency check in one write.

        Takes only if `execution_name` still owns the live tracking and `frame["seq"]` is the next seq.
        Returns the tracking as written (its current connection included); raises AppendRefused.
        """
        seq = frame["seq"]
        result, old = _update_or_old(
            self.trackings,
            Key={"trackingId": tracking_id},
            UpdateExpression="SET events = list_append(events, :e), nextSeq = :next",
            ConditionExpression="executionName = :x AND nextSeq = :seq AND #state = :live",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":e": [frame],
                ":next": seq + 1,
                ":x": execution_name,
                ":seq": seq,
                ":live": TrackingState.LIVE,
            },
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if result is None:
            raise AppendRefused(Tracking.from_item(old) if old else None)
        return Tracking.from_item(result["Attributes"])
