"""Who may post to a tracking's connection right now: a short lease on the tracking item.

An emit stores its event and then posts it. A track_order that switched the connection between the
two could answer before that post lands, and an event of the previous tracking would follow the first
frame of the new one. So every post of a tracking happens under its send lease, and a switch ends
(fences) the previous tracking only while no post of it holds the lease: the answer waits for that
post to land. The lease is taken by the write that stores what is posted (an emit's append, a new
tracking with its first event, a resume's re-attachment), and released with what was sent: an event
costs two writes. A retried emit, whose event is stored already, takes it on its own. A lease left
by a crashed holder expires after LEASE_MS. Each holder has its own token, so two posts of one
tracking (a resume's replay and a live emit) take turns, and the first to finish cannot free the
lease under the other.

Releasing the lease also records the highest seq the tracking's connection has, so a retried emit
finds its event sent when it asks for the lease ("sent"), at no write of its own. Holders take turns,
so the record only grows: a release writes the larger of what it found and what it posted.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from order_tracking import deadline
from order_tracking.observability import logger
from order_tracking.store import LeaseHeld, LeaseState, TrackingStore

# A post takes well under a second; the lease outlasts the longest a post can take by design (one
# call with its retry: deadline.CALL_SECONDS), so no post of a holder lands after its lease ended.
# Waits allow 500 ms more than a lease's life, so a waiter outlasts one crashed holder's lease (and
# its clock skew). A switch may meet several posts of the previous tracking in a row (short delays):
# it waits for up to three. Every wait also ends at the invocation's deadline.
LEASE_MS = int(deadline.CALL_SECONDS * 1000) + 1000
WAIT_MS = 3 * (LEASE_MS + 500)
POLL_SECONDS = 0.02
# A waiter asks again after POLL_SECONDS, then backs off (doubling, with jitter) up to MAX_POLL_SECONDS:
# each ask is a conditional write of the item, and a burst of waiters on one item (many publishes of
# one order at once) polling at 50 Hz each would hold up the holder's own writes, and on AWS exceed
# the 1,000 writes per second one item's partition takes.
MAX_POLL_SECONDS = 0.32
Result = TypeVar("Result")


def now_ms() -> int:
    return int(time.time() * 1000)


def new_token() -> str:
    return uuid.uuid4().hex


def lease_for(token: str) -> tuple[str, int]:
    """(token, until): a lease from now, for the write that takes it."""
    return token, now_ms() + LEASE_MS


def poll_delays() -> Iterator[float]:
    """Seconds to wait before each next ask: POLL_SECONDS, then doubling up to MAX_POLL_SECONDS, each
    between half and all of that (jitter: waiters that met the same holder do not ask in step)."""
    delay = POLL_SECONDS
    while True:
        yield delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - jitter, not a secret
        delay = min(MAX_POLL_SECONDS, delay * 2)


def _pause(delay: float, held_until: int) -> None:
    """Sleep `delay`, but not past the end of the holder's lease (it may be free then), nor less than 5 ms."""
    time.sleep(max(0.005, min(delay, (held_until - now_ms()) / 1000)))


def wait_until_ms(longest_ms: int = WAIT_MS) -> int:
    """When a wait that may last `longest_ms` gives up: then, or at the invocation's deadline."""
    return min(now_ms() + longest_ms, deadline.epoch_ms())


def wait_while_held(attempt: Callable[[], Result]) -> Result:
    """`attempt()` again until it does not raise LeaseHeld: the holder finished or its lease ran out."""
    until = wait_until_ms()
    for delay in poll_delays():
        try:
            return attempt()
        except LeaseHeld as held:
            if now_ms() > until:
                raise
            _pause(delay, held.until)
    raise AssertionError("unreachable: poll_delays() never ends")


class LeaseKeeper:
    """Keeps a lease while its holder works longer than LEASE_MS (a fan-out to many watchers, a long
    replay): `keep()` renews it once less than a third of it is left. `renew(until)` extends the lease
    and answers whether the holder still had it; keep() answers the same."""

    def __init__(self, renew: Callable[[int], bool], until: int) -> None:
        self._renew = renew
        self.until = until

    def keep(self) -> bool:
        if self.until - now_ms() > LEASE_MS // 3:
            return True
        until = now_ms() + LEASE_MS
        if not self._renew(until):
            return False
        self.until = until
        return True


def wait_while_holder(holder: Callable[[], str | None]) -> None:
    """Wait until the lease `holder()` names now (None: nobody holds it) is released, expires or
    changes hands: that holder's posts have landed. A later holder is not waited for."""
    first = holder()
    if first is None:
        return
    until = wait_until_ms()
    while True:
        time.sleep(POLL_SECONDS)
        if holder() != first:
            return
        if now_ms() > until:
            raise LeaseHeld(until)


@dataclass
class Lease:
    """What a holder may do: post (`may_post`), or not because the connection has the event already
    (`already_sent`) or the tracking is no longer live on it; `posted(seq)` records what it delivered."""

    may_post: bool
    already_sent: bool = False
    has_seq: int = 0  # the highest seq of the tracking the connection has

    def posted(self, seq: int) -> None:
        self.has_seq = max(self.has_seq, seq)


@contextmanager
def holding(store: TrackingStore, tracking_id: str, connection_id: str | None, token: str, has_seq: int) -> Iterator[Lease]:
    """A lease the caller's write took: the block posts, and the lease is released after it, with
    what `connection_id` has now."""
    lease = Lease(may_post=connection_id is not None, has_seq=has_seq)
    try:
        yield lease
    finally:
        sent = (connection_id, lease.has_seq) if connection_id is not None and lease.has_seq > has_seq else None
        _release(store, tracking_id, token, sent)


def _release(store: TrackingStore, tracking_id: str, token: str, sent: tuple[str, int] | None) -> None:
    """Release the lease; a fault here is a crashed holder's case: the lease expires by itself within
    LEASE_MS, and what was posted has landed. Only the record of it is lost (a retried emit may then
    post its event again, which the client drops by eventId), not the request that posted it."""
    try:
        store.release_send_lease(tracking_id, token, sent)
    except (BotoCoreError, ClientError, deadline.OutOfTime) as error:
        logger.warning("send lease not released: it expires by itself", extra={"error": str(error)})


@contextmanager
def send_lease(store: TrackingStore, tracking_id: str, connection_id: str, seq: int) -> Iterator[Lease]:
    """Take the lease to post the stored event `seq` again (a retried emit), and hold it in the block."""
    until = wait_until_ms(LEASE_MS + 500)
    token = new_token()
    for delay in poll_delays():
        state, value = store.take_send_lease(tracking_id, connection_id, token, now_ms() + LEASE_MS, now_ms(), seq=seq)
        if state != LeaseState.HELD or now_ms() > until:
            break
        _pause(delay, value)
    if state != LeaseState.ACQUIRED:
        yield Lease(may_post=False, already_sent=state == LeaseState.SENT)
        return
    with holding(store, tracking_id, connection_id, token, value) as lease:
        yield lease
