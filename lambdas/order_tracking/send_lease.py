"""Who may post to a connection right now: a short lease on the connection item.

The emit step stores an event (its fence) and then posts it: two calls. A track_order that switches the
connection between them could answer before that post lands, and an event of the previous tracking
would follow the first frame of the new one. So posting happens under the connection's send lease,
which only the connection's current tracking can take, and an answer to a switch waits until no
other tracking holds it. A lease left by a crashed emit expires after LEASE_MS. Each take has its own
token, so two posts of one tracking (a resume's replay and a live emit) take turns, and the first to
finish cannot free the lease under the other.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from order_tracking.store import TrackingStore

LEASE_MS = 3000
POLL_SECONDS = 0.02


def _now_ms() -> int:
    return int(time.time() * 1000)


@contextmanager
def send_lease(store: TrackingStore, connection_id: str, tracking_id: str) -> Iterator[bool]:
    """Hold the send lease while the block posts; yields False if this tracking may not post there."""
    deadline = _now_ms() + LEASE_MS + 500
    token = uuid.uuid4().hex
    while True:
        state, until = store.take_send_lease(connection_id, tracking_id, token, _now_ms() + LEASE_MS, _now_ms())
        if state != "held" or _now_ms() > deadline:
            break
        time.sleep(max(0.005, min(POLL_SECONDS, (until - _now_ms()) / 1000)))
    if state != "acquired":
        yield False
        return
    try:
        yield True
    finally:
        store.release_send_lease(connection_id, token)


def wait_for_other_senders(store: TrackingStore, connection_id: str, tracking_id: str | None) -> None:
    """Block until no tracking but `tracking_id` is posting to the connection (bounded by LEASE_MS)."""
    deadline = _now_ms() + LEASE_MS + 500
    while store.foreign_lease_until(connection_id, tracking_id) > _now_ms() and _now_ms() < deadline:
        time.sleep(POLL_SECONDS)
