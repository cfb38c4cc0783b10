"""Posting a simulated tracking's events under its send lease (delivery/lease.py).

An emit stores its event and then posts it. A track_order that switched the connection between the
two could answer before that post lands, and an event of the previous tracking would follow the first
frame of the new one. So every post of a tracking happens under its send lease, and a switch ends
(fences) the previous tracking only while no post of it holds the lease: the answer waits for that
post to land. The lease is taken by the write that stores what is posted (an emit's append, a new
tracking with its first event, a resume's re-attachment), and released with what was delivered: an
event costs two writes. A retried emit, whose event is stored already, takes it on its own.

Releasing the lease also records the highest seq the tracking's connection has, so a retried emit
finds its event sent when it asks for the lease ("sent"), at no write of its own. Holders take turns,
so the record only grows: a release writes the larger of what it found and what it posted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from order_tracking.delivery.lease import LEASE_MS, Lease, new_token, now_ms, pause, poll_delays, wait_until_ms
from order_tracking.runtime import deadline
from order_tracking.runtime.observability import logger
from order_tracking.simulated.trackings import LeaseState, TrackingStore


@dataclass
class Posting:
    """What a holder of the send lease may do: post (`may_post`), or not because the connection has
    the event already (`already_sent`) or the tracking is no longer live on it; `posted(seq)`
    records what it delivered, which the lease's release writes."""

    may_post: bool
    already_sent: bool = False
    delivered_seq: int = 0  # the highest seq of the tracking the connection has

    def posted(self, seq: int) -> None:
        self.delivered_seq = max(self.delivered_seq, seq)


@contextmanager
def holding(
    store: TrackingStore, tracking_id: str, connection_id: str | None, token: str, delivered_seq: int
) -> Iterator[Posting]:
    """A lease the caller's write took: the block posts, and the lease is released after it, with
    what `connection_id` has now."""
    posting = Posting(may_post=connection_id is not None, delivered_seq=delivered_seq)
    try:
        yield posting
    finally:
        grown = connection_id is not None and posting.delivered_seq > delivered_seq
        _release(store, tracking_id, token, (connection_id, posting.delivered_seq) if grown and connection_id else None)


def _release(store: TrackingStore, tracking_id: str, token: str, delivered: tuple[str, int] | None) -> None:
    """Release the lease; a fault here is a crashed holder's case: the lease expires by itself within
    LEASE_MS, and what was posted has landed. Only the record of it is lost (a retried emit may then
    post its event again, which the client drops by eventId), not the request that posted it."""
    try:
        store.release_send_lease(tracking_id, token, delivered)
    except (BotoCoreError, ClientError, deadline.OutOfTime) as error:
        logger.warning("send lease not released: it expires by itself", extra={"error": str(error)})


@contextmanager
def send_lease(store: TrackingStore, tracking_id: str, connection_id: str, seq: int) -> Iterator[Posting]:
    """Take the lease to post the stored event `seq` again (a retried emit), and hold it in the block."""
    until = wait_until_ms(LEASE_MS + 500)
    token = new_token()
    for delay in poll_delays():
        state, value = store.take_send_lease(tracking_id, connection_id, Lease.of(token), now_ms(), seq=seq)
        if state != LeaseState.HELD or now_ms() > until:
            break
        pause(delay, value)
    if state != LeaseState.ACQUIRED:
        yield Posting(may_post=False, already_sent=state == LeaseState.SENT)
        return
    with holding(store, tracking_id, connection_id, token, value) as posting:
        yield posting
