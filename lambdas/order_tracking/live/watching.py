"""A connection watching a live order: a watch starts (or resumes) when track_order names the order,
replays the stored events the connection lacks, then gets each new one as it is published
(publish.py); it stops when the connection moves on, and is dropped (watchers.py) when the connection
is gone.

A connection that starts or resumes watching becomes a watcher holding its watch's replay lease, then
posts itself every stored event it lacks, and releases the lease recording the last. A connection
that moves on stops being a watcher once its replay in flight has landed, then waits for the order's
fan-out in flight, if any, to finish: after that no frame of the watch reaches it, so the answer to
the move comes last.

A watch's trackingId names the life of the order it watches (its stream), "-", and a part of its own:
a client that resumes a watch of an earlier life of the order gets a new watch.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from order_tracking.connections.store import CurrentTracking
from order_tracking.connections.switch import Switch
from order_tracking.delivery.gateway import Gateway
from order_tracking.delivery.lease import Lease, LeaseKeeper, new_token, now_ms, wait_while_held, wait_while_holder
from order_tracking.live.streams import StreamStore
from order_tracking.live.watchers import Watcher, WatcherStore
from order_tracking.orders.catalog import Order
from order_tracking.runtime.observability import Metric, count, logger
from order_tracking.wire.track_order import Resume


def new_watch_id(stream_id: str) -> str:
    return f"{stream_id}-{uuid.uuid4().hex[:16]}"


def stream_of(watch_id: str) -> str:
    """The life of the order a watch's trackingId names ("" for an id that names none)."""
    stream, dash, _ = watch_id.partition("-")
    return stream if dash else ""


class Watching:
    def __init__(self, streams: StreamStore, watchers: WatcherStore, gateway: Gateway) -> None:
        self.streams, self.watchers, self.gateway = streams, watchers, gateway

    def watch(self, order: Order, resume: Resume | None, switch: Switch) -> None:
        """Watch `order` on the switch's connection: move the connection to the watch, fence what it
        tracked before, then replay the stored events it lacks (all of them for a new watch)."""
        if resume is not None and stream_of(resume.trackingId) == order.stream_id:
            tracking_id, after_seq = resume.trackingId, resume.afterSeq
        else:
            tracking_id, after_seq = new_watch_id(order.stream_id), 0
        logger.append_keys(tracking_id=tracking_id)
        switch.to(CurrentTracking.watch(tracking_id, order.order_id))
        connection_id = switch.connection_id
        watcher = Watcher(order.order_id, connection_id, tracking_id, order.stream_id, replayed_seq=after_seq)
        replayed = self._replay(watcher, lambda: switch.connections.current_tracking_id(connection_id) == tracking_id)
        resumed = resume is not None and resume.trackingId == tracking_id
        count(Metric.TRACKINGS_RESUMED if resumed else Metric.TRACKINGS_STARTED)
        count(Metric.EVENTS_REPLAYED, replayed)
        logger.info("live order watched", extra={"resumed": resumed, "after_seq": after_seq, "replayed": replayed})

    def _replay(self, watcher: Watcher, still_current: Callable[[], bool]) -> int:
        """Make the connection a watcher of the order and post it every stored event after
        `watcher.replayed_seq`; returns how many were posted. `still_current()` answers whether the
        watch is still the connection's current tracking: checked once the connection is a watcher, so
        that a move that overtook this one (and found no watch to stop) is not followed by these frames."""
        order_id, connection_id, tracking_id, after_seq = (
            watcher.order_id,
            watcher.connection_id,
            watcher.tracking_id,
            watcher.replayed_seq,
        )
        token = new_token()

        def become_watcher() -> Lease:
            held = Lease.of(token)  # from when the put takes, not from when it first waited
            self.watchers.watch(watcher, held=held, now_ms=now_ms())
            return held

        held = wait_while_held(become_watcher)
        renew = self.watchers.renew_replay_lease
        keeper = LeaseKeeper(lambda until: renew(order_id, connection_id, token, until), held.until)
        order = self.streams.read(order_id) if still_current() else None
        if order is None or order.stream_id != watcher.stream_id:
            self.watchers.unwatch(order_id, connection_id, tracking_id, now_ms(), own_token=token)
            return 0
        replayed = min(after_seq, order.last_seq)
        try:
            for seq in range(after_seq + 1, order.last_seq + 1):
                if not keeper.keep():
                    break
                if not self.gateway.post(connection_id, order.frame(seq, tracking_id)):
                    self.watchers.drop(order_id, connection_id, tracking_id)
                    count(Metric.CONNECTIONS_GONE)
                    logger.info("connection gone during replay")
                    break
                replayed = seq
        finally:
            self.watchers.release_replay_lease(order_id, connection_id, token, replayed)
        return replayed - min(after_seq, order.last_seq)

    def stop(self, connection_id: str, watch: CurrentTracking) -> None:
        """The connection tracks something else now: stop its watch, after the watch's replay in
        flight, then the order's fan-out in flight, have landed."""
        order_id = str(watch.live_order_id)
        wait_while_held(lambda: self.watchers.unwatch(order_id, connection_id, watch.tracking_id, now_ms()))
        wait_while_holder(lambda: self.streams.fanout_holder(order_id, now_ms()))
        logger.info("previous watch stopped", extra={"previous_tracking_id": watch.tracking_id})
