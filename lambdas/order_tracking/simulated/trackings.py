"""The trackings table: a simulated order's tracking, every read and conditional write of it.

Trackings table item:
    trackingId, customerId, orderId, executionName (the execution that may emit), state ("live" |
    "ended"), connectionId (absent while detached), nextSeq (seq the next emit must carry), events
    (every emitted frame, for replay), createdAt, expiresAt (TTL);
    leaseToken + leaseUntil: the send lease (delivery/lease.py), taken by the same write that stores
    what is posted; deliveredTo + deliveredSeq: the highest seq that connection has (posted, replayed,
    or named by the client's resume), written when the lease is released, so a retried emit does not
    post an event twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from order_tracking.aws import clients
from order_tracking.aws.conditional import plain, update_if, update_or_old
from order_tracking.delivery import lease
from order_tracking.delivery.lease import Lease, LeaseHeld, held_until
from order_tracking.wire.clock import epoch_seconds, iso_millis, now


class TrackingState(StrEnum):
    LIVE = "live"
    ENDED = "ended"  # fenced: its connection moved on, or its start failed; no execution emits for it


class LeaseState(StrEnum):
    """What asking for a tracking's send lease found (take_send_lease)."""

    ACQUIRED = "acquired"  # this holder may post
    HELD = "held"  # another holder has it until its lease ends: wait
    SENT = "sent"  # the connection already has the event: nothing to post
    FENCED = "fenced"  # the tracking is ended, or not on this connection any more


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
    delivered_to: str | None = None
    delivered_seq: int = 0

    def owned_by(self, execution_name: str) -> bool:
        """Whether `execution_name` may still emit for this tracking (it is live and the execution's)."""
        return self.execution_name == execution_name and self.state == TrackingState.LIVE

    def seq_delivered_to(self, connection_id: str) -> int:
        """The highest seq `connection_id` has of this tracking, as last recorded."""
        return self.delivered_seq if self.delivered_to == connection_id else 0

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
            delivered_to=item.get("deliveredTo"),
            delivered_seq=item.get("deliveredSeq", 0),
        )


class AppendRefused(Exception):
    """The emit's conditional write did not take; `tracking` is the item as it stands (None if gone)."""

    def __init__(self, tracking: Tracking | None) -> None:
        super().__init__("append refused")
        self.tracking = tracking


class TrackingStore:
    def __init__(self, trackings_table: str) -> None:
        # Cached per process: a warm invocation builds nothing (an environment runs one invocation at a time).
        self.trackings = clients.table(trackings_table)

    def create(
        self,
        *,
        tracking_id: str,
        customer_id: str,
        order_id: str,
        connection_id: str,
        first_event: dict[str, Any],
        held: Lease,
        kept_for: timedelta,
    ) -> Tracking:
        """A live tracking of `connection_id` with its first event stored (seq 1; the execution emits
        from seq 2 on), and its send lease `held` to post that event; kept (for resume) `kept_for`
        after it starts. Returns it as written."""
        moment = now()
        item = {
            "leaseToken": held.token,
            "leaseUntil": held.until,
            "trackingId": tracking_id,
            "customerId": customer_id,
            "orderId": order_id,
            "executionName": tracking_id,
            "state": TrackingState.LIVE,
            "connectionId": connection_id,
            "nextSeq": 2,
            "events": [first_event],
            "createdAt": iso_millis(moment),
            "expiresAt": epoch_seconds(moment + kept_for),
        }
        self.trackings.put_item(Item=item, ConditionExpression="attribute_not_exists(trackingId)")
        return Tracking.from_item(item)

    def get(self, tracking_id: str) -> Tracking | None:
        item = self.trackings.get_item(Key={"trackingId": tracking_id}, ConsistentRead=True).get("Item")
        return Tracking.from_item(item) if item else None

    def end(self, tracking_id: str, connection_id: str, now_ms: int, own_token: str | None = None) -> bool:
        """Fence a tracking its connection has replaced: its execution emits nothing more, and nothing
        of it is posted after this returns. Only if `connection_id` still holds it (a tracking resumed
        elsewhere is not ours to end), and only while no post of it holds the send lease (but
        `own_token`'s): raises LeaseHeld, so the caller waits for that post to land first."""
        result, old = update_or_old(
            self.trackings,
            Key={"trackingId": tracking_id},
            UpdateExpression=f"SET #state = :ended REMOVE connectionId, {lease.ATTRIBUTES}",
            ConditionExpression=f"connectionId = :c AND ({lease.FREE} OR leaseToken = :mine)",
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
        raise LeaseHeld(held_until(old))

    def detach(self, tracking_id: str, connection_id: str) -> bool:
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

    def attach(
        self, tracking_id: str, connection_id: str, customer_id: str, *, after_seq: int, held: Lease, now_ms: int
    ) -> Tracking | None:
        """Re-point a customer's live tracking to a new connection, which has its events up to `after_seq`,
        and take its send lease (`held`) to replay the rest, in one write. Returns it with every stored
        event; None if it is not the customer's, or ended. Raises LeaseHeld while a post to the previous
        connection is in flight."""
        result, old = update_or_old(
            self.trackings,
            Key={"trackingId": tracking_id},
            UpdateExpression=f"SET connectionId = :c, deliveredTo = :c, deliveredSeq = :after, {lease.TAKE}",
            ConditionExpression=f"customerId = :customer AND #state = :live AND {lease.FREE}",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":c": connection_id,
                ":customer": customer_id,
                ":live": TrackingState.LIVE,
                ":after": after_seq,
                **held.values(now_ms),
            },
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if result is not None:
            return Tracking.from_item(result["Attributes"])
        if old is None or old.get("customerId") != customer_id or old.get("state") != TrackingState.LIVE:
            return None
        raise LeaseHeld(held_until(old))

    def append(self, tracking_id: str, execution_name: str, frame: dict[str, Any], *, held: Lease, now_ms: int) -> Tracking:
        """Store `frame` as the tracking's next event and take its send lease (`held`) to post it: the
        fence, the idempotency check and the lease in one write.

        Takes only if `execution_name` still owns the live tracking, `frame["seq"]` is the next seq and
        no other post holds the lease. Returns the tracking as written (its current connection
        included); raises LeaseHeld (wait, retry) or AppendRefused.
        """
        seq = frame["seq"]
        result, old = update_or_old(
            self.trackings,
            Key={"trackingId": tracking_id},
            UpdateExpression=f"SET events = list_append(events, :e), nextSeq = :next, {lease.TAKE}",
            ConditionExpression=f"executionName = :x AND nextSeq = :seq AND #state = :live AND {lease.FREE}",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":e": [frame],
                ":next": seq + 1,
                ":x": execution_name,
                ":seq": seq,
                ":live": TrackingState.LIVE,
                **held.values(now_ms),
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
        self, tracking_id: str, connection_id: str, held: Lease, now_ms: int, *, seq: int
    ) -> tuple[LeaseState, int]:
        """Take the tracking's send lease (`held`) to post its stored event `seq` to `connection_id`
        again (a retried emit). Returns (ACQUIRED, the highest seq the connection already has), (HELD,
        until of the current holder's lease), (SENT, 0) when the connection has event `seq`, or
        (FENCED, 0) when the tracking is ended or on another connection."""
        result, old = update_or_old(
            self.trackings,
            Key={"trackingId": tracking_id},
            UpdateExpression=f"SET {lease.TAKE}",
            ConditionExpression=(
                f"connectionId = :c AND #state = :live AND {lease.FREE} AND NOT (deliveredTo = :c AND deliveredSeq >= :seq)"
            ),
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":c": connection_id, ":live": TrackingState.LIVE, ":seq": seq, **held.values(now_ms)},
            ReturnValues="ALL_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if result is None:
            if not old or old.get("connectionId") != connection_id or old.get("state") != TrackingState.LIVE:
                return LeaseState.FENCED, 0
            if old.get("deliveredTo") == connection_id and int(old.get("deliveredSeq", 0)) >= seq:
                return LeaseState.SENT, 0
            return LeaseState.HELD, held_until(old)
        before = result.get("Attributes", {})
        return LeaseState.ACQUIRED, int(before.get("deliveredSeq", 0)) if before.get("deliveredTo") == connection_id else 0

    def release_send_lease(self, tracking_id: str, token: str, delivered: tuple[str, int] | None = None) -> None:
        """Release the lease if holder `token` still has it (an expired lease may have a new holder),
        recording `delivered` = (connection, highest seq it has) in the same write."""
        records = {"deliveredTo": delivered[0], "deliveredSeq": delivered[1]} if delivered is not None else None
        lease.release(self.trackings, {"trackingId": tracking_id}, token, records)
