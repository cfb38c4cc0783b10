"""Live orders: a backend publishes an order's status (the publish handler), and every connection
watching the order gets it, with the guarantees of a simulated tracking (docs/reliability.md).

- publish: store the event as the order's next one (one conditional write that checks the owner,
  the idempotency key and the event limit, and takes the order's fan-out lease), post it to every
  watcher, release the lease recording that its fan-out finished. One publish at a time fans out an
  order's events, so each watcher gets them in seq order. A repeated publish (same key) posts nothing
  if its fan-out finished, and finishes it if it did not.
- replay: a connection that starts or resumes watching becomes a watcher (holding its watch's
  replay lease), then posts itself every stored event it lacks, and releases the lease recording the
  last. A publish that meets a watch still replaying waits for that replay, then posts only what the
  replay did not: nothing is sent twice, nothing is missed, nothing overtakes the replay.
- stop_watching: a connection that switches away stops being a watcher once its replay in flight
  has landed, then waits for the fan-out in flight, if any, to finish: after that no frame of the
  watch reaches it, so the switch's answer comes last.
Per published event that costs two writes of the order's item, whatever the number of watchers: the
watchers are read (one consistent query), not written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from enum import StrEnum

from botocore.exceptions import BotoCoreError, ClientError

from order_tracking import aws_clients, deadline, gateway
from order_tracking.live_store import AlreadyStored, LiveOrder, LiveStore, Watcher
from order_tracking.observability import Metric, count, logger
from order_tracking.protocol import new_watch_id, stream_of
from order_tracking.publish_request import PublishRequest
from order_tracking.send_lease import (
    LEASE_MS,
    POLL_SECONDS,
    LeaseKeeper,
    lease_for,
    new_token,
    now_ms,
    wait_until_ms,
    wait_while_held,
    wait_while_holder,
)
from order_tracking.store import Order
from order_tracking.track_order_request import Resume

RETRY_DELAYS_SECONDS = (0.25, 0.5, 1.0)  # a post that failed (5xx after botocore's retries) is tried again after these


class PublishOutcome(StrEnum):
    DELIVERED = "delivered"  # stored, and posted to every watcher that did not have it
    DUPLICATE = "duplicate"  # the idempotency key was stored and its fan-out finished: nothing done


class FanoutIncomplete(Exception):
    """Some watchers could not be posted to (or the fan-out lease was lost): the publish is retried,
    and the repeated publish posts the event again."""


def publish(request: PublishRequest) -> tuple[PublishOutcome, int, int]:
    """Store and fan out one published event: (outcome, its seq, watchers posted to). Raises
    PublishRefused for a publish that must not be stored."""
    store = LiveStore()
    token = new_token()
    logger.append_keys(order_id=request.order_id, idempotency_key=request.idempotency_key)
    try:
        order = wait_while_held(lambda: store.append(request, lease=lease_for(token), now_ms=now_ms()))
        seq = order.last_seq
        count(Metric.EVENTS_PUBLISHED)
    except AlreadyStored as stored:
        seq = stored.seq
        if stored.order.sent_seq >= seq:
            count(Metric.PUBLISHES_REPEATED)
            logger.info("publish repeated: already delivered", extra={"seq": seq})
            return PublishOutcome.DUPLICATE, seq, 0
        order = wait_while_held(lambda: store.take_fanout_lease(request.order_id, lease=lease_for(token), now_ms=now_ms()))
        if order.sent_seq >= seq:  # another attempt finished it meanwhile
            store.release_fanout_lease(request.order_id, token, order.sent_seq)
            count(Metric.PUBLISHES_REPEATED)
            return PublishOutcome.DUPLICATE, seq, 0
        logger.info("publish repeated: its fan-out had not finished", extra={"seq": seq})
    logger.append_keys(seq=seq)
    fanout = Fanout(store, order, seq, token)
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

    def __init__(self, store: LiveStore, order: LiveOrder, seq: int, token: str) -> None:
        self.store, self.order, self.seq, self.token = store, order, seq, token
        self.keeper = LeaseKeeper(lambda until: store.renew_fanout_lease(order.order_id, token, until), now_ms() + LEASE_MS)
        self.posted = 0  # watchers posted to
        self.gone = 0  # watchers whose connection was gone (410): their watch is dropped
        self.server_errors = 0  # posts answered 5xx (after botocore's retry)

    def run(self) -> None:
        """Post to every watcher, then release the lease recording the fan-out; raises FanoutIncomplete
        (lease released, fan-out not recorded)."""
        order_id = self.order.order_id
        pending = self.store.watchers(order_id)
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
            self.store.release_fanout_lease(order_id, self.token, None)
            raise
        self.store.release_fanout_lease(order_id, self.token, self.seq)

    def _deliver_all(self, watchers: list[Watcher]) -> list[Watcher]:
        """One pass over `watchers`; returns the ones whose post failed and may be tried again. The
        watchers ready now are posted to first; one whose own replay is still posting is waited for
        after them, and gets only what its replay did not post."""
        current = []
        for watcher in watchers:
            if stream_of(watcher.tracking_id) != self.order.stream_id:  # of an earlier life of the order
                self.store.drop_watch(self.order.order_id, watcher.connection_id, watcher.tracking_id)
            else:
                current.append(watcher)
        replaying = [w for w in current if w.replaying(now_ms())]
        failed = self._post_all([w for w in current if w not in replaying])
        after_replay = [found for found in (_after_replay(self.store, w) for w in replaying) if found is not None]
        return failed + self._post_all(after_replay)

    def _post_all(self, watchers: list[Watcher]) -> list[Watcher]:
        """Post the event to each watcher that lacks it, FANOUT_THREADS at a time; returns those whose post failed."""
        wanting = [w for w in watchers if w.sent_seq < self.seq]  # the others' replay posted it
        if not wanting:
            return []
        management = aws_clients.management_api()  # built here, before the threads share it
        failed = []
        threads = min(aws_clients.FANOUT_THREADS, len(wanting))
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fanout") as pool:
            futures: dict[Future[bool], Watcher] = {
                pool.submit(gateway.post, w.connection_id, self.order.frame(self.seq, w.tracking_id), management): w
                for w in wanting
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
            self.server_errors += int(gateway.is_server_error(error))
            return False
        if landed:
            self.posted += 1
        else:
            self.gone += 1
            self.store.drop_watch(self.order.order_id, watcher.connection_id, watcher.tracking_id)
            logger.info("watcher gone", extra={"connection_id": watcher.connection_id})
        return True


def _after_replay(store: LiveStore, watcher: Watcher) -> Watcher | None:
    """The connection's watch once its replay has landed (or its lease expired); None if it stopped."""
    until = wait_until_ms()
    current: Watcher | None = watcher
    while current is not None and current.replaying(now_ms()) and now_ms() < until:
        time.sleep(POLL_SECONDS)
        current = store.watcher(watcher.order_id, watcher.connection_id)
    return current


def watch_of(order: Order, resume: Resume | None) -> tuple[str, int]:
    """(trackingId, afterSeq) of a connection's watch of a live order: the one it resumes, if that
    watches the order's current life, else a new one from the start."""
    if resume is not None and stream_of(resume.trackingId) == order.stream_id:
        return resume.trackingId, resume.afterSeq
    return new_watch_id(order.stream_id), 0


def replay(order_id: str, connection_id: str, tracking_id: str, after_seq: int, still_current: Callable[[], bool]) -> int:
    """Make the connection a watcher of the order and post it every stored event after `after_seq`;
    returns how many were posted. `still_current()` answers whether the watch is still the
    connection's current tracking: checked once the connection is a watcher, so that a switch that
    overtook this one (and found no watch to stop) is not followed by these frames."""
    store = LiveStore()
    token = new_token()

    def become_watcher() -> tuple[str, int]:
        lease = lease_for(token)  # from when the put takes, not from when it first waited
        store.watch(order_id, connection_id, tracking_id, lease=lease, sent_seq=after_seq, now_ms=now_ms())
        return lease

    lease = wait_while_held(become_watcher)
    keeper = LeaseKeeper(lambda until: store.renew_replay_lease(order_id, connection_id, token, until), lease[1])
    order = store.read(order_id) if still_current() else None
    if order is None or order.stream_id != stream_of(tracking_id):
        store.unwatch(order_id, connection_id, tracking_id, now_ms(), own_token=token)
        return 0
    sent = min(after_seq, order.last_seq)
    try:
        for seq in range(after_seq + 1, order.last_seq + 1):
            if not keeper.keep():
                break
            if not gateway.post(connection_id, order.frame(seq, tracking_id)):
                store.drop_watch(order_id, connection_id, tracking_id)
                count(Metric.CONNECTIONS_GONE)
                logger.info("connection gone during replay")
                break
            sent = seq
    finally:
        store.release_replay_lease(order_id, connection_id, token, sent)
    return sent - min(after_seq, order.last_seq)


def stop_watching(order_id: str, connection_id: str, tracking_id: str) -> None:
    """The connection tracks something else now: stop its watch of the order, after the watch's
    replay in flight, then the order's fan-out in flight, have landed."""
    store = LiveStore()
    wait_while_held(lambda: store.unwatch(order_id, connection_id, tracking_id, now_ms()))
    wait_while_holder(lambda: store.fanout_holder(order_id, now_ms()))


def drop_watch(order_id: str, connection_id: str, tracking_id: str) -> None:
    """The connection is gone ($disconnect): it watches nothing any more."""
    LiveStore().drop_watch(order_id, connection_id, tracking_id)
