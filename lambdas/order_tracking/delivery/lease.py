"""A lease: who may post to a connection right now, held on a DynamoDB item (a tracking, a live order,
a watcher) by the very write that stores what is to be posted, and released once it has landed.

Every holder has its own token, so holders take turns and the first to finish cannot free the lease
under another; a lease left by a crashed holder expires after LEASE_MS. The lease is one value
(`Lease`: a token, and until when it holds) with one set of expressions every store writes it with:
taken only while FREE, released only by its own holder.

Renewing and releasing a lease are the same on every item, so they are here, as are the waits: a
holder that meets another waits for it (`wait_while_held`), backing off as it asks again; one that
works longer than a lease renews it (`LeaseKeeper`).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from order_tracking.aws.conditional import update_if
from order_tracking.runtime import deadline

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

# The expressions every item's lease is written with. A condition that takes the lease needs
# `values(now_ms)` (":now") besides the lease's own (":token", ":until").
FREE = "(attribute_not_exists(leaseToken) OR leaseUntil < :now)"  # no holder, or an expired one
TAKE = "leaseToken = :token, leaseUntil = :until"  # in a SET clause
HELD_BY_HOLDER = "leaseToken = :token"
ATTRIBUTES = "leaseToken, leaseUntil"
RELEASE = f"REMOVE {ATTRIBUTES}"

Result = TypeVar("Result")


def now_ms() -> int:
    return int(time.time() * 1000)


def new_token() -> str:
    return uuid.uuid4().hex


class LeaseHeld(Exception):
    """Another holder has the lease until `until` (epoch ms): wait, then ask again."""

    def __init__(self, until: int) -> None:
        super().__init__(f"lease held until {until}")
        self.until = until


@dataclass(frozen=True)
class Lease:
    """A holder's lease: its token, and until when it holds (epoch ms)."""

    token: str
    until: int

    @classmethod
    def of(cls, token: str) -> Lease:
        """Holder `token`'s lease from now (each attempt to take it starts its own LEASE_MS)."""
        return cls(token, now_ms() + LEASE_MS)

    def values(self, now: int | None = None) -> dict[str, Any]:
        """The expression values of a write that takes it (TAKE) while it is FREE (`now`: epoch ms)."""
        values: dict[str, Any] = {":token": self.token, ":until": self.until}
        if now is not None:
            values[":now"] = now
        return values


def held_until(item: dict[str, Any] | None) -> int:
    """When the lease on `item` (as a refused write found it) ends: what LeaseHeld carries."""
    return int((item or {}).get("leaseUntil", 0))


def renew(table: Any, key: dict[str, str], token: str, until_ms: int) -> bool:
    """Extend holder `token`'s lease on the item at `key` to `until_ms`; False if it no longer holds it."""
    values = {":token": token, ":until": until_ms}
    renewed = update_if(
        table,
        Key=key,
        UpdateExpression="SET leaseUntil = :until",
        ConditionExpression=HELD_BY_HOLDER,
        ExpressionAttributeValues=values,
    )
    return renewed is not None


def release(table: Any, key: dict[str, str], token: str, records: dict[str, Any] | None = None) -> None:
    """Release holder `token`'s lease on the item at `key` (an expired lease may have a new holder: then
    nothing happens), setting the attributes `records` in the same write."""
    values: dict[str, Any] = {":token": token}
    sets = []
    for index, (attribute, value) in enumerate((records or {}).items()):
        sets.append(f"{attribute} = :r{index}")
        values[f":r{index}"] = value
    update = (f"SET {', '.join(sets)} " if sets else "") + RELEASE
    update_if(table, Key=key, UpdateExpression=update, ConditionExpression=HELD_BY_HOLDER, ExpressionAttributeValues=values)


def poll_delays() -> Iterator[float]:
    """Seconds to wait before each next ask: POLL_SECONDS, then doubling up to MAX_POLL_SECONDS, each
    between half and all of that (jitter: waiters that met the same holder do not ask in step)."""
    delay = POLL_SECONDS
    while True:
        yield delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - jitter, not a secret
        delay = min(MAX_POLL_SECONDS, delay * 2)


def pause(delay: float, held_until_ms: int) -> None:
    """Sleep `delay`, but not past the end of the holder's lease (it may be free then), nor less than 5 ms."""
    time.sleep(max(0.005, min(delay, (held_until_ms - now_ms()) / 1000)))


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
            pause(delay, held.until)
    raise AssertionError("unreachable: poll_delays() never ends")


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
