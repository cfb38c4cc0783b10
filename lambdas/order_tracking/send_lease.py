"""Who may post to a connection right now: a short lease on the connection item.

The emit step stores an event (its fence) and then posts it: two calls. A track_order that switches the
connection between them could answer before that post lands, and an event of the previous tracking
would follow the first frame of the new one. So posting happens under the connection's send lease,
which only the connection's current tracking can take, and an answer to a switch waits until no
other tracking holds it. A lease left by a crashed emit expires after LEASE_MS. Each take has its own
token, so two posts of one tracking (a resume's replay and a live emit) take turns, and the first to
finish cannot free the lease under the other.

Releasing the lease also records the highest seq of the tracking the connection now has, so a
retried emit finds its event sent when it asks for the lease ("sent"), at no write of its own.
Holders take turns, so the record only grows: a release writes the larger of what it found at
take time and what it posted.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from order_tracking.store import LeaseState, TrackingStore

# A post takes well under a second; the lease covers retries of it. The waits below allow 500 ms more
# than a lease's life, so a waiter outlasts one crashed holder's lease (and its clock skew) but not two.
LEASE_MS = 3000
POLL_SECONDS = 0.02


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Lease:
    """What a holder may do: post (`may_post`), or not because the connection has the event already
    (`already_sent`) or is no longer this tracking's; `posted(seq)` records what it delivered."""

    may_post: bool
    already_sent: bool = False
    has_seq: int = 0  # the highest seq of the tracking the connection has

    def posted(self, seq: int) -> None:
        self.has_seq = max(self.has_seq, seq)


@contextmanager
def send_lease(store: TrackingStore, connection_id: str, tracking_id: str, seq: int = 0) -> Iterator[Lease]:
    """Hold the send lease while the block posts event `seq` (0: a replay of several)."""
    deadline = _now_ms() + LEASE_MS + 500
    token = uuid.uuid4().hex
    while True:
        state, value = store.take_send_lease(connection_id, tracking_id, token, _now_ms() + LEASE_MS, _now_ms(), seq=seq)
        if state != LeaseState.HELD or _now_ms() > deadline:
            break
        time.sleep(max(0.005, min(POLL_SECONDS, (value - _now_ms()) / 1000)))
    if state != LeaseState.ACQUIRED:
        yield Lease(may_post=False, already_sent=state == LeaseState.SENT)
        return
    lease = Lease(may_post=True, has_seq=value)
    had = value
    try:
        yield lease
    finally:
        store.release_send_lease(connection_id, token, (tracking_id, lease.has_seq) if lease.has_seq > had else None)


def wait_for_other_senders(store: TrackingStore, connection_id: str, tracking_id: str | None) -> None:
    """Block until no tracking but `tracking_id` is posting to the connection (bounded by LEASE_MS)."""
    deadline = _now_ms() + LEASE_MS + 500
    while store.foreign_lease_until(connection_id, tracking_id) > _now_ms() and _now_ms() < deadline:
        time.sleep(POLL_SECONDS)
