"""The connections table: who is connected, for which customer, and what each connection tracks now.

Connections table item:
    connectionId, customerId, connectedAt, expiresAt (TTL); trackingId (its current tracking, or its
    watch of a live order), trackingKind (the kind of order it tracks: "simulated" or "live"),
    liveOrderId (the live order it watches, if it does), lastRequestAt (receive time of the
    track_order that set them, to refuse older ones processed late).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from order_tracking.aws import clients
from order_tracking.aws.conditional import update_or_old
from order_tracking.orders.catalog import OrderKind
from order_tracking.wire.clock import epoch_seconds, iso_millis, now

CONNECTIONS_BY_CUSTOMER = "byCustomer"  # the index infra/tables.py defines
# API Gateway closes a connection after 2 hours; keep its record a little longer than that.
CONNECTION_TTL = timedelta(hours=3)


@dataclass(frozen=True)
class CurrentTracking:
    """What a connection tracks: a simulated order's tracking, or a watch of a live order."""

    tracking_id: str
    kind: OrderKind
    live_order_id: str | None = None

    @classmethod
    def simulated(cls, tracking_id: str) -> CurrentTracking:
        return cls(tracking_id, OrderKind.SIMULATED)

    @classmethod
    def watch(cls, tracking_id: str, live_order_id: str) -> CurrentTracking:
        return cls(tracking_id, OrderKind.LIVE, live_order_id)

    @classmethod
    def of(cls, attributes: dict[str, Any]) -> CurrentTracking | None:
        tracking_id = attributes.get("trackingId")
        if not tracking_id:
            return None
        live_order_id = attributes.get("liveOrderId")
        kind = OrderKind.LIVE if live_order_id else OrderKind.of(attributes.get("trackingKind"))
        return cls(tracking_id, kind, live_order_id)


class OvertakenRequest(Exception):
    """A later track_order of the same connection was processed first; this one must not take effect."""


class ConnectionStore:
    def __init__(self, connections_table: str) -> None:
        self.connections = clients.table(connections_table)

    def put(self, connection_id: str, customer_id: str) -> None:
        moment = now()
        self.connections.put_item(
            Item={
                "connectionId": connection_id,
                "customerId": customer_id,
                "connectedAt": iso_millis(moment),
                "expiresAt": epoch_seconds(moment + CONNECTION_TTL),
            }
        )

    def open_count(self, customer_id: str, up_to: int) -> int:
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

    def delete(self, connection_id: str) -> CurrentTracking | None:
        """Delete the connection; returns what it tracked, if anything."""
        old = self.connections.delete_item(Key={"connectionId": connection_id}, ReturnValues="ALL_OLD")
        return CurrentTracking.of(old.get("Attributes", {}))

    def current_tracking_id(self, connection_id: str) -> str | None:
        """The connection's current tracking id (a consistent read)."""
        item = self.connections.get_item(
            Key={"connectionId": connection_id}, ConsistentRead=True, ProjectionExpression="trackingId"
        ).get("Item")
        return str(item["trackingId"]) if item and "trackingId" in item else None

    def switch(self, connection_id: str, current: CurrentTracking | None, requested_at: int) -> CurrentTracking | None:
        """Make `current` the connection's current tracking (None: no tracking); returns what the
        connection tracked before.

        One atomic write, so two concurrent track_order calls each learn a distinct predecessor to fence.
        API Gateway may run a connection's messages out of order: the write takes only if no request
        received later (`requested_at`, epoch ms) has switched the connection already, else it raises
        OvertakenRequest. Raises LookupError if the connection is gone.
        """
        sets, removes = ["lastRequestAt = :at"], []
        values: dict[str, Any] = {":at": requested_at}
        attributes = {
            "trackingId": current and current.tracking_id,
            "trackingKind": current and current.kind.value,
            "liveOrderId": current and current.live_order_id,
        }
        for attribute, value in attributes.items():
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
            ReturnValues="ALL_OLD",  # the item as it stood: what it tracked, of which kind
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if result is None:
            raise LookupError(connection_id) if old is None else OvertakenRequest(connection_id)
        return CurrentTracking.of(result.get("Attributes", {}))
