"""A connection moving to a new current tracking. A connection tracks one thing at a time: moving it
(one atomic write of its item) returns what it tracked before, and that is then fenced, after any
post of it in flight has landed, so no frame of it follows the first frame answering the move. How a
previous tracking is fenced depends on its kind (a simulated tracking is ended, a watch is stopped):
the `fence` given knows every kind, this module none."""

from __future__ import annotations

from collections.abc import Callable

from order_tracking.connections.store import ConnectionStore, CurrentTracking

Fence = Callable[[str, CurrentTracking], None]  # (connection id, what it tracked before)


class Switch:
    """One track_order's move of its connection (`requested_at`, epoch ms: when API Gateway received it)."""

    def __init__(self, connections: ConnectionStore, connection_id: str, requested_at: int, fence: Fence) -> None:
        self.connections = connections
        self.connection_id = connection_id
        self.requested_at = requested_at
        self._fence = fence

    def move(self, current: CurrentTracking | None) -> CurrentTracking | None:
        """Make `current` the connection's current tracking; returns what it tracked before (not fenced
        yet). Raises OvertakenRequest when a later request of the connection moved it first."""
        return self.connections.switch(self.connection_id, current, self.requested_at)

    def fence(self, previous: CurrentTracking | None, current: CurrentTracking | None) -> None:
        """Fence `previous` (unless it is `current` again: a resume of the same tracking)."""
        if previous is None or (current is not None and previous.tracking_id == current.tracking_id):
            return
        self._fence(self.connection_id, previous)

    def to(self, current: CurrentTracking | None) -> None:
        """Move, then fence what the connection tracked before."""
        self.fence(self.move(current), current)
