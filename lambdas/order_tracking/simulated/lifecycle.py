"""A simulated order's tracking, from start to end: start (the first event at once, an execution for
the rest), resume, emit (the execution's step), fence (its connection moved on), detach (its
connection is gone). The state machine paces the events (infra/tracking_workflow.py); this stores and
posts each one.

Invariants:
- An event is stored before it is sent, by exactly one conditional write that only the tracking's own
  execution can make for the expected seq, so stale or repeated emits neither store nor send twice.
- A tracking whose connection is gone keeps running and keeps its events for resume; one that is
  ended (fenced) is never resumed: no execution emits for it any more.
- Posts happen under the tracking's send lease (send_lease.py), and a fence waits for the post in
  flight, so once the first frame answering a switch has arrived, no frame of the previous tracking
  follows.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from enum import StrEnum
from typing import Any

from order_tracking.aws import clients
from order_tracking.connections.store import CurrentTracking, OvertakenRequest
from order_tracking.connections.switch import Switch
from order_tracking.delivery.gateway import Gateway
from order_tracking.delivery.lease import Lease, new_token, now_ms, wait_while_held
from order_tracking.orders.catalog import Order
from order_tracking.runtime.observability import Metric, count, logger
from order_tracking.runtime.settings import TrackingSettings
from order_tracking.simulated.send_lease import Posting, holding, send_lease
from order_tracking.simulated.trackings import AppendRefused, Tracking, TrackingState, TrackingStore
from order_tracking.wire.clock import iso_millis, now
from order_tracking.wire.frames import order_event_frame
from order_tracking.wire.track_order import Resume


class EmitOutcome(StrEnum):
    """What an emit did; the state machine branches on it (infra/tracking_workflow.py)."""

    SENT = "sent"  # stored and posted to the tracking's connection
    STORED = "stored"  # stored; the tracking has no connection now (kept for resume)
    DETACHED = "detached"  # stored; the connection was gone (410), so the tracking was detached from it
    DUPLICATE = "duplicate"  # this seq was already stored and sent (a retried emit): nothing done
    SUPERSEDED = "superseded"  # the tracking was ended or belongs to another execution: nothing stored or sent


class OutOfOrderEmit(Exception):
    """An emit for a seq beyond the next one: a bug, never retried."""


class Executions:
    """The state machine that paces a tracking's events after the first: one execution per tracking,
    named after it. A tracking is kept for resume `retention` after it starts."""

    def __init__(self, config: TrackingSettings, retention_seconds: int) -> None:
        self.config = config
        self.retention = timedelta(seconds=retention_seconds)

    def start(self, tracking_id: str, order_id: str, events: list[dict[str, Any]]) -> None:
        execution_input = {
            "trackingId": tracking_id,
            "orderId": order_id,
            "events": events,
            "minDelay": self.config.min_delay_seconds,
            "maxDelay": self.config.max_delay_seconds,
        }
        clients.stepfunctions().start_execution(
            stateMachineArn=self.config.state_machine_arn, name=tracking_id, input=json.dumps(execution_input)
        )


class Tracker:
    """A simulated order's trackings: stored in `store`, posted through `gateway`."""

    def __init__(self, store: TrackingStore, gateway: Gateway) -> None:
        self.store = store
        self.gateway = gateway

    # -- track_order -----------------------------------------------------------------------------

    def start(self, order: Order, connection_id: str, customer_id: str, switch: Switch, executions: Executions) -> None:
        """A new tracking of `order` on the connection. The route sends the first event itself, under
        the same fence and send lease as the emit step, and the execution paces the rest: the first
        event is at most the fifth call after the request (get the order, store the tracking with its
        first event and its lease, switch the connection, end the previous tracking, post), not the
        ninth behind a Step Functions start and a Lambda invoke."""
        tracking_id = uuid.uuid4().hex
        logger.append_keys(tracking_id=tracking_id)
        events = [{"seq": seq, "orderId": order.order_id, **event} for seq, event in enumerate(order.events, start=1)]
        first = order_event_frame(tracking_id=tracking_id, order_id=order.order_id, seq=1, event=events[0], at=iso_millis(now()))
        token = new_token()
        self.store.create(
            tracking_id=tracking_id,
            customer_id=customer_id,
            order_id=order.order_id,
            connection_id=connection_id,
            first_event=first,
            held=Lease.of(token),
            kept_for=executions.retention,
        )
        current = CurrentTracking.simulated(tracking_id)
        try:
            previous = switch.move(current)
        except OvertakenRequest:
            self.store.end(tracking_id, connection_id, now_ms(), own_token=token)  # never started: nothing will emit
            raise
        try:
            with holding(self.store, tracking_id, connection_id, token, 0) as posting:
                switch.fence(previous, current)  # its last post lands before our first
                if self._post_held(tracking_id, connection_id, first, posting):
                    count(Metric.EVENTS_EMITTED)
                    outcome = EmitOutcome.SENT
                else:
                    outcome = EmitOutcome.DETACHED
            if len(events) > 1:
                executions.start(tracking_id, order.order_id, events[1:])
        except Exception:
            self.store.end(tracking_id, connection_id, now_ms(), own_token=token)  # a tracking no execution will continue
            raise
        count(Metric.TRACKINGS_STARTED)
        logger.info("tracking started", extra={"events": len(order.events), "first_event": outcome})

    def resume(self, order: Order, resume: Resume, connection_id: str, customer_id: str, switch: Switch) -> bool:
        """Re-attach an earlier tracking of `order` and replay what the client missed. False: start a
        new one instead (the tracking is unknown, another customer's or order's, expired, or ended)."""
        known = self.store.get(resume.trackingId)
        if known is None or known.customer_id != customer_id or known.order_id != order.order_id:
            logger.info("resume refused: unknown tracking", extra={"resume_tracking_id": resume.trackingId})
            return False
        if known.expires_at and known.expires_at < int(now().timestamp()):
            logger.info("resume refused: expired tracking", extra={"resume_tracking_id": resume.trackingId})
            return False
        if known.state != TrackingState.LIVE:  # no execution emits for it any more: its client would wait forever
            logger.info("resume refused: ended tracking", extra={"resume_tracking_id": resume.trackingId})
            return False
        # The connection first, then the tracking: the previous tracking is fenced once its post in flight
        # has landed; then the re-attachment takes this tracking's lease (after any post of it to the old
        # connection) to replay what the client missed.
        switch.to(CurrentTracking.simulated(known.tracking_id))
        token = new_token()
        tracking = wait_while_held(
            lambda: self.store.attach(
                known.tracking_id,
                connection_id,
                customer_id,
                after_seq=resume.afterSeq,  # the client has these: a retried emit must not send them again
                held=Lease.of(token),
                now_ms=now_ms(),
            )
        )
        if tracking is None:
            return False
        logger.append_keys(tracking_id=tracking.tracking_id)
        missed = [frame for frame in tracking.events if frame["seq"] > resume.afterSeq]
        replayed = 0
        with holding(self.store, tracking.tracking_id, connection_id, token, resume.afterSeq) as posting:
            for frame in missed:
                if not self._post_held(tracking.tracking_id, connection_id, frame, posting):
                    break
                replayed += 1
        count(Metric.TRACKINGS_RESUMED)
        count(Metric.EVENTS_REPLAYED, replayed)
        logger.info("tracking resumed", extra={"missed": len(missed), "replayed": replayed, "after_seq": resume.afterSeq})
        return True

    def fence(self, connection_id: str, tracking_id: str) -> None:
        """End a tracking its connection has moved on from, after its post in flight has landed."""
        ended = wait_while_held(lambda: self.store.end(tracking_id, connection_id, now_ms()))
        logger.info("previous tracking ended", extra={"previous_tracking_id": tracking_id, "fenced": ended})

    # -- the execution's step --------------------------------------------------------------------

    def emit(self, tracking_id: str, execution_name: str, event: dict[str, Any]) -> EmitOutcome:
        """Store and send one event of a tracking; returns the outcome the state machine branches on.

        Two writes: the append, which takes the send lease, and the lease's release, which records what
        the connection has."""
        seq = int(event["seq"])
        logger.append_keys(tracking_id=tracking_id, seq=seq)
        frame = order_event_frame(tracking_id=tracking_id, order_id=event["orderId"], seq=seq, event=event, at=iso_millis(now()))
        token = new_token()
        try:
            tracking = wait_while_held(
                lambda: self.store.append(tracking_id, execution_name, frame, held=Lease.of(token), now_ms=now_ms())
            )
        except AppendRefused as refused:
            current = refused.tracking
            if current is None or not current.owned_by(execution_name):
                logger.info("emit fenced", extra={"state": current.state if current else None})
                count(Metric.EMITS_FENCED)
                return EmitOutcome.SUPERSEDED
            if current.next_seq <= seq:
                raise OutOfOrderEmit(f"seq {seq} emitted before seq {current.next_seq}") from None
            # Stored by an earlier attempt: send it unchanged, unless the connection has it already.
            return self._send_again(current, current.events[seq - 1])
        connection_id = tracking.connection_id
        with holding(self.store, tracking_id, connection_id, token, tracking.seq_delivered_to(connection_id or "")) as posting:
            if connection_id is None:
                logger.info("event stored, no connection")
                return EmitOutcome.STORED
            if not self._post_held(tracking_id, connection_id, frame, posting):
                return EmitOutcome.DETACHED
        count(Metric.EVENTS_EMITTED)
        logger.info("event sent", extra={"event_type": frame["type"]})
        return EmitOutcome.SENT

    def _post_held(self, tracking_id: str, connection_id: str, frame: dict[str, Any], posting: Posting) -> bool:
        """Post `frame` under the send lease: True when it landed (recorded on `posting`, which the
        lease's release writes), False when the connection was gone (410): the tracking is detached, its
        events kept."""
        if not self.gateway.post(connection_id, frame):
            self.store.detach(tracking_id, connection_id)
            count(Metric.CONNECTIONS_GONE)
            logger.info("connection gone, tracking detached")
            return False
        posting.posted(frame["seq"])
        return True

    def _send_again(self, tracking: Tracking, frame: dict[str, Any]) -> EmitOutcome:
        """A retried emit: post the stored event under a lease of its own, unless the connection has it."""
        if tracking.connection_id is None:
            logger.info("event stored, no connection")
            return EmitOutcome.STORED
        with send_lease(self.store, tracking.tracking_id, tracking.connection_id, frame["seq"]) as posting:
            if posting.already_sent:
                logger.info("emit repeated: already sent")
                count(Metric.EMITS_REPEATED)
                return EmitOutcome.DUPLICATE
            if not posting.may_post:
                # The tracking was ended or moved to another connection since; the event stays for resume.
                logger.info("event stored, connection carries no longer this tracking")
                return EmitOutcome.STORED
            if not self._post_held(tracking.tracking_id, tracking.connection_id, frame, posting):
                return EmitOutcome.DETACHED
        count(Metric.EVENTS_EMITTED)
        logger.info("event sent again", extra={"event_type": frame["type"]})
        return EmitOutcome.SENT
