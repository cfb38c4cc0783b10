"""The watchers table: which connections watch which live order, every read and conditional write of it.

Watchers table item (orderId, connectionId):
    trackingId (the watch), streamId (the life of the order it watches), replayedSeq (the highest seq
    the watch's own replay posted), leaseToken + leaseUntil (the replay lease, held while that replay
    posts: delivery/lease.py), expiresAt (TTL: a connection's longest life).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from order_tracking.aws import clients
from order_tracking.aws.conditional import delete_or_old, plain, put_or_old
from order_tracking.connections.store import CONNECTION_TTL
from order_tracking.delivery import lease
from order_tracking.delivery.lease import Lease, LeaseHeld, held_until
from order_tracking.wire.clock import epoch_seconds, now


@dataclass
class Watcher:
    order_id: str
    connection_id: str
    tracking_id: str
    stream_id: str
    replayed_seq: int = 0
    lease_until: int = 0
    has_lease: bool = False

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Watcher:
        item = plain(item)
        return cls(
            order_id=item["orderId"],
            connection_id=item["connectionId"],
            tracking_id=item["trackingId"],
            stream_id=item["streamId"],
            replayed_seq=item.get("replayedSeq", 0),
            lease_until=item.get("leaseUntil", 0),
            has_lease="leaseToken" in item,
        )

    def replaying(self, now_ms: int) -> bool:
        """Whether the watch's own replay is posting to its connection right now."""
        return self.has_lease and self.lease_until >= now_ms


class WatcherStore:
    def __init__(self, watchers_table: str) -> None:
        self.watchers = clients.table(watchers_table)

    def watch(self, watcher: Watcher, *, held: Lease, now_ms: int) -> None:
        """Make `watcher` the connection's watch of its order, holding its replay lease (`held`); its
        `replayed_seq`: the highest seq its connection has. Raises LeaseHeld while another watch of the
        connection's still replays."""
        written, old = put_or_old(
            self.watchers,
            Item={
                "orderId": watcher.order_id,
                "connectionId": watcher.connection_id,
                "trackingId": watcher.tracking_id,
                "streamId": watcher.stream_id,
                "replayedSeq": watcher.replayed_seq,
                "leaseToken": held.token,
                "leaseUntil": held.until,
                "expiresAt": epoch_seconds(now() + CONNECTION_TTL),
            },
            ConditionExpression=lease.FREE,
            ExpressionAttributeValues={":now": now_ms},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if written is None:
            raise LeaseHeld(held_until(old))

    def renew_replay_lease(self, order_id: str, connection_id: str, token: str, until_ms: int) -> bool:
        return lease.renew(self.watchers, {"orderId": order_id, "connectionId": connection_id}, token, until_ms)

    def release_replay_lease(self, order_id: str, connection_id: str, token: str, replayed_seq: int) -> None:
        """The watch's replay is done: its connection has events up to `replayed_seq`."""
        lease.release(self.watchers, {"orderId": order_id, "connectionId": connection_id}, token, {"replayedSeq": replayed_seq})

    def unwatch(self, order_id: str, connection_id: str, tracking_id: str, now_ms: int, own_token: str | None = None) -> bool:
        """Stop the watch `tracking_id` of the connection, once no replay of it posts (but `own_token`'s):
        raises LeaseHeld while one does. False when the connection has another watch of the order, or none."""
        result, old = delete_or_old(
            self.watchers,
            Key={"orderId": order_id, "connectionId": connection_id},
            ConditionExpression=f"trackingId = :t AND ({lease.FREE} OR leaseToken = :mine)",
            ExpressionAttributeValues={":t": tracking_id, ":now": now_ms, ":mine": own_token or "-"},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if result is not None:
            return True
        if old is None or old.get("trackingId") != tracking_id:
            return False
        raise LeaseHeld(held_until(old))

    def drop(self, order_id: str, connection_id: str, tracking_id: str) -> None:
        """Forget the watch whatever it is doing: its connection is gone (410, $disconnect)."""
        delete_or_old(
            self.watchers,
            Key={"orderId": order_id, "connectionId": connection_id},
            ConditionExpression="trackingId = :t",
            ExpressionAttributeValues={":t": tracking_id},
        )

    def of_order(self, order_id: str) -> list[Watcher]:
        """Every connection watching the order (a consistent query: a watch made before this call is in it)."""
        found: list[Watcher] = []
        request: dict[str, Any] = {
            "KeyConditionExpression": "orderId = :o",
            "ExpressionAttributeValues": {":o": order_id},
            "ConsistentRead": True,
        }
        while True:
            page = self.watchers.query(**request)
            found.extend(Watcher.from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get(self, order_id: str, connection_id: str) -> Watcher | None:
        key = {"orderId": order_id, "connectionId": connection_id}
        item = self.watchers.get_item(Key=key, ConsistentRead=True).get("Item")
        return Watcher.from_item(item) if item else None
