"""A backend's publish of a live order's status (the publish handler): store it as the order's next
event, then post it to every connection watching the order, with the guarantees of a simulated
tracking (docs/reliability.md).

One conditional write stores the event (checking the owner, the idempotency key and the event limit)
and takes the order's fan-out lease; the event is posted to every watcher; the lease's release records
that its fan-out finished. One publish at a time fans out an order's events, so each watcher gets them
in seq order. A repeated publish (same key) posts nothing if its fan-out finished, and finishes it if
it did not. A watcher whose own replay is still posting (watching.py) is waited for, and gets only what
that replay did not post: nothing is sent twice, nothing is missed, nothing overtakes the replay. Per
published event that costs two writes of the order's item, whatever the number of watchers: the
watchers are read (one consistent query), not written.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from enum import StrEnum

from botocore.exceptions import BotoCoreError, ClientError

from order_tracking.aws import clients
from order_tracking.delivery.gateway import Gateway, is_server_error
from order_tracking.delivery.lease import (
    LEASE_MS,
    POLL_SECONDS,
    Lease,
    LeaseKeeper,
    new_token,
    now_ms,
    wait_until_ms,
    wait_while_held,
)
from order_tracking.live.streams import AlreadyStored, LiveOrder, StreamStore
from order_tracking.live.watchers import Watcher, WatcherStore
from order_tracking.runtime import deadline
from order_tracking.runtime.observability import Metric, count, logger
from order_tracking.wire.publish import PublishRequest

RETRY_DELAYS_SECONDS = (0.25, 0.5, 1.0)  # a post that failed (5xx after botocore's retries) is tried again after these


class PublishOutcome(StrEnum):
    DELIVERED = "delivered"  # stored, and posted to every watcher that did not have it
    DUPLICATE = "duplicate"  # the idempotency key was stored and its fan-out finished: nothing done


class FanoutIncomplete(Exception):
    """Some watchers could not be posted to (or the fan-out lease was lost): the publish is retried,
    and the repeated publish posts the event again."""


class Publisher:
    def __init__(self, streams: StreamStore, watchers: WatcherStore, gateway: Gateway) -> None:
        self.streams, self.watchers, self.gateway = streams, watchers, gateway

    def publish(self, request: PublishRequest) -> tuple[PublishOutcome, int, int]:
        """Store and fan out one published event: (outcome, its seq, watchers posted to). Raises
        PublishRefused for a publish that must not be stored."""
        token = new_token()
        logger.append_keys(order_id=request.order_id, idempotency_key=request.idempotency_key)
        try:
            order = wait_while_held(lambda: self.streams.append(request, held=Lease.of(token), now_ms=now_ms()))
            seq = order.last_seq
            count(Metric.EVENTS_PUBLISHED)
        except AlreadyStored as stored:
            seq = stored.seq
            if stored.order.fanned_out_seq >= seq:
                count(Metric.PUBLISHES_REPEATED)
                logger.info("publish repeated: already delivered", extra={"seq": seq})
                return PublishOutcome.DUPLICATE, seq, 0
            order = wait_while_held(
                lambda: self.streams.take_fanout_lease(request.order_id, held=Lease.of(token), now_ms=now_ms())
            )
            if order.fanned_out_seq >= seq:  # another attempt finished it meanwhile
                self.streams.release_fanout_lease(request.order_id, token, order.fanned_out_seq)
                count(Metric.PUBLISHES_REPEATED)
                return PublishOutcome.DUPLICATE, seq, 0
            logger.info("publish repeated: its fan-out had not finished", extra={"seq": seq})
        logger.append_keys(seq=seq)
        fanout = Fanout(self, order, seq, token)
        try:
            fanout.run()
        finally:  # counted here, on the handler's thread: Powertools' metric set is not thread-safe
            count(Metric.LIVE_EVENTS_SENT, fanout.posted)
            count(Metric.CONNECTIONS_GONE, fanout.gone)
            count(Metric.MANAGEMENT_API_ERRORS, fanout.server_errors)
        logger.info("published", extra={"watchers": fanout.posted})
        return PublishOutcome.DELIVERED, seq, fanout.posted


class Fanout:
    """Posting event `seq` of `order` to every watcher, under the order's fan-out lease (held by
    `token`), and what it did. Only the posts run in a pool's threads (the management API's client is
    thread-safe); every read and write of the tables, and every count, happens on the handler's thread."""

    def __init__(self, publisher: Publisher, order: LiveOrder, seq: int, token: str) -> None:
        self.streams, self.watchers, self.gateway = publisher.streams, publisher.watchers, publisher.gateway
        self.order, self.seq, self.token = order, seq, token
        renew = self.streams.renew_fanout_lease
        self.keeper = LeaseKeeper(lambda until: renew(order.order_id, token, until), now_ms() + LEASE_MS)
        self.posted = 0  # watchers posted to
        self.gone = 0  # watchers whose connection was gone (410): their watch is dropped
        self.server_errors = 0  # posts answered 5xx (after botocore's retry)

    def run(self) -> None:
        """Post to every watcher, then release the lease recording the fan-out; raises FanoutIncomplete
        (lease released, fan-out not recorded)."""
        order_id = self.order.order_id
        pending = self.watchers.of_order(order_id)
        try:
            for delay in (0.0, *RETRY_DELAYS_SECONDS):
                if not pending:
                    break
                if delay and deadline.seconds_left() < delay + deadline.CALL_SECONDS:
                    break  # no time for another round: the publish is retried as a whole
                time.sleep(delay)
                pending = self._deliver_all(pending)
            if pending:
                raise FanoutIncomplete(f"{len(pending)} watcher(s) could not be posted to")
        except BaseException:
            self.streams.release_fanout_lease(order_id, self.token, None)
            raise
        self.streams.release_fanout_lease(order_id, self.token, self.seq)

    def _deliver_all(self, watchers: list[Watcher]) -> list[Watcher]:
        """One pass over `watchers`; returns the ones whose post failed and may be tried again. The
        watchers ready now are posted to first; one whose own replay is still posting is waited for
        after them, and gets only what its replay did not post."""
        current = []
        for watcher in watchers:
            if watcher.stream_id != self.order.stream_id:  # a watch of an earlier life of the order
                self.watchers.drop(self.order.order_id, watcher.connection_id, watcher.tracking_id)
            else:
                current.append(watcher)
        replaying = [w for w in current if w.replaying(now_ms())]
        failed = self._post_all([w for w in current if w not in replaying])
        after_replay = [found for found in (self._after_replay(w) for w in replaying) if found is not None]
        return failed + self._post_all(after_replay)

    def _post_all(self, watchers: list[Watcher]) -> list[Watcher]:
        """Post the event to each watcher that lacks it, FANOUT_THREADS at a time; returns those whose post failed."""
        wanting = [w for w in watchers if w.replayed_seq < self.seq]  # the others' replay posted it
        if not wanting:
            return []
        failed = []
        threads = min(clients.FANOUT_THREADS, len(wanting))
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fanout") as pool:
            futures: dict[Future[bool], Watcher] = {
                pool.submit(self.gateway.post, w.connection_id, self.order.frame(self.seq, w.tracking_id)): w for w in wanting
            }
            waiting = set(futures)
            while waiting:
                done, waiting = wait(waiting, timeout=LEASE_MS / 6000, return_when=FIRST_COMPLETED)
                if not self.keeper.keep():
                    raise FanoutIncomplete("the fan-out lease was lost")
                for future in done:
                    if not self._landed(futures[future], future):
                        failed.append(futures[future])
        return failed

    def _landed(self, watcher: Watcher, post: Future[bool]) -> bool:
        """Count what a finished post did; False when it failed and may be tried again."""
        try:
            landed = post.result()
        except (BotoCoreError, ClientError, deadline.OutOfTime) as error:
            logger.warning("post to a watcher failed", extra={"error": str(error)})
            self.server_errors += int(is_server_error(error))
            return False
        if landed:
            self.posted += 1
        else:
            self.gone += 1
            self.watchers.drop(self.order.order_id, watcher.connection_id, watcher.tracking_id)
            logger.info("watcher gone", extra={"connection_id": watcher.connection_id})
        return True

    def _after_replay(self, watcher: Watcher) -> Watcher | None:
        """The connection's watch once its replay has landed (or its lease expired); None if it stopped."""
        until = wait_until_ms()
        current: Watcher | None = watcher
        while current is not None and current.replaying(now_ms()) and now_ms() < until:
            time.sleep(POLL_SECONDS)
            current = self.watchers.get(watcher.order_id, watcher.connection_id)
        return current
