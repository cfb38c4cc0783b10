"""The tracking lifecycle: start, switch, resume, emit, detach. Handlers call these; these call the
store, the gateway and Step Functions. A live order is watched instead of tracked (live_orders.py):
the switch, the fence of the previous tracking and the answer's order are the same.

Invariants:
- A connection has at most one live tracking: starting one ends (fences) the previous one first.
- An event is stored before it is sent, by exactly one conditional write that only the tracking's own
  execution can make for the expected seq, so stale or repeated emits neither store nor send twice.
- A tracking whose connection is gone keeps running and keeps its events for resume.
- Posts happen under the tracking's send lease (send_lease.py), and a switch ends the previous tracking
  only while none of its posts is in flight, so once the first frame answering a switch has arrived,
  no frame of the previous tracking follows.
"""

from __future__ import annotations

import json
import uuid
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from order_tracking import aws_clients, gateway, settings
from order_tracking.clock import iso_millis, now
from order_tracking.observability import Metric, count, logger
from order_tracking.protocol import ErrorCode, ProtocolError, order_event_frame, stream_of
from order_tracking.send_lease import Lease, holding, lease_for, new_token, now_ms, send_lease, wait_while_held
from order_tracking.settings import TrackingSettings
from order_tracking.store import AppendRefused, CurrentTracking, Order, OvertakenRequest, Tracking, TrackingState, TrackingStore

if TYPE_CHECKING:  # emit never parses a request: it does not import the parse (cold start)
    from order_tracking.track_order_request import TrackOrder

# live_orders is imported where a connection meets a live order: about 14 ms of a cold start that
# emit, and the other handlers of simulated orders, never spend.


class EmitOutcome(StrEnum):
    """What an emit did; the state machine branches on it (infra/tracking_workflow.py)."""

    SENT = "sent"  # stored and posted to the tracking's connection
    STORED = "stored"  # stored; the tracking has no connection now (kept for resume)
    DETACHED = "detached"  # stored; the connection was gone (410), so the tracking was detached from it
    DUPLICATE = "duplicate"  # this seq was already stored and sent (a retried emit): nothing done
    SUPERSEDED = "superseded"  # the tracking was ended or belongs to another execution: nothing stored or sent


class OutOfOrderEmit(Exception):
    """An emit for a seq beyond the next one: a bug, never retried."""


def _end_previous(store: TrackingStore, connection_id: str, previous: CurrentTracking | None, current: str | None) -> None:
    """Fence the connection's previous tracking (or stop its watch), after any post of it in flight has landed."""
    if previous is None or previous.tracking_id == current:
        return
    if previous.live_order_id:
        from order_tracking import live_orders

        live_orders.stop_watching(previous.live_order_id, connection_id, previous.tracking_id)
        logger.info("previous watch stopped", extra={"previous_tracking_id": previous.tracking_id})
        return
    ended = wait_while_held(lambda: store.end_tracking(previous.tracking_id, connection_id, now_ms()))
    logger.info("previous tracking ended", extra={"previous_tracking_id": previous.tracking_id, "fenced": ended})


def track(request: TrackOrder, connection_id: str, customer_id: str, requested_at: int) -> None:
    """Answer track_order: resume the named tracking, or start a new one. Sends errors as ProtocolError.

    `requested_at` (epoch ms, when API Gateway received the frame) orders a connection's requests:
    one overtaken by a later request, which API Gateway happened to run first, has no effect.
    """
    store = TrackingStore()
    logger.append_keys(order_id=request.orderId, customer_id=customer_id)
    try:
        _track(store, request, connection_id, customer_id, requested_at)
    except OvertakenRequest:
        logger.info("request overtaken by a later one of the same connection: ignored")


def _track(store: TrackingStore, request: TrackOrder, connection_id: str, customer_id: str, requested_at: int) -> None:
    resume = request.resume
    if (
        resume is not None
        and not stream_of(resume.trackingId)
        and _resume(store, request, connection_id, customer_id, requested_at)
    ):
        return
    order = store.get_order(request.orderId)
    if order is None or order.customer_id != customer_id:
        # Even an unknown order ends the previous tracking (protocol: timing and cancellation).
        # Ending it waits for its post in flight, if any: the error does not overtake it.
        _end_previous(store, connection_id, store.switch_connection_tracking(connection_id, None, requested_at), None)
        raise ProtocolError(ErrorCode.ORDER_NOT_FOUND, "no such order", request.orderId)
    if order.live:
        _watch(store, order, request, connection_id, requested_at)
        return

    # The route sends the first event itself, under the same fence and send lease as the emit step,
    # and the execution paces the rest: the first event is at most the fifth call after the request
    # (get the order, store the tracking with its first event and its lease, switch the connection,
    # end the previous tracking, post), not the ninth behind a Step Functions start and a Lambda invoke.
    tracking_id = uuid.uuid4().hex
    logger.append_keys(tracking_id=tracking_id)
    events = [{"seq": seq, "orderId": order.order_id, **event} for seq, event in enumerate(order.events, start=1)]
    first = order_event_frame(tracking_id=tracking_id, order_id=order.order_id, seq=1, event=events[0], at=iso_millis(now()))
    token = new_token()
    store.create_tracking(
        tracking_id=tracking_id,
        customer_id=customer_id,
        order_id=order.order_id,
        connection_id=connection_id,
        first_event=first,
        lease=lease_for(token),
    )
    try:
        previous = store.switch_connection_tracking(connection_id, tracking_id, requested_at)
    except OvertakenRequest:
        store.end_tracking(tracking_id, connection_id, now_ms(), own_token=token)  # never started: nothing will emit
        raise
    try:
        with holding(store, tracking_id, connection_id, token, 0) as lease:
            _end_previous(store, connection_id, previous, tracking_id)  # its last post lands before our first
            if _post_held(store, tracking_id, connection_id, first, lease):
                count(Metric.EVENTS_EMITTED)
                outcome = EmitOutcome.SENT
            else:
                outcome = EmitOutcome.DETACHED
        if len(events) > 1:
            config = settings.load(TrackingSettings)
            execution_input = {
                "trackingId": tracking_id,
                "orderId": order.order_id,
                "events": events[1:],
                "minDelay": config.min_delay_seconds,
                "maxDelay": config.max_delay_seconds,
            }
            aws_clients.stepfunctions().start_execution(
                stateMachineArn=config.state_machine_arn, name=tracking_id, input=json.dumps(execution_input)
            )
    except Exception:
        store.end_tracking(tracking_id, connection_id, now_ms(), own_token=token)  # a tracking no execution will continue
        raise
    count(Metric.TRACKINGS_STARTED)
    logger.info("tracking started", extra={"events": len(order.events), "first_event": outcome})


def _watch(store: TrackingStore, order: Order, request: TrackOrder, connection_id: str, requested_at: int) -> None:
    """Watch a live order: switch the connection to the watch, fence what it tracked before, then
    replay the stored events it lacks (all of them for a new watch); live ones follow as published."""
    from order_tracking import live_orders

    tracking_id, after_seq = live_orders.watch_of(order, request.resume)
    logger.append_keys(tracking_id=tracking_id)
    previous = store.switch_connection_tracking(connection_id, tracking_id, requested_at, live_order_id=order.order_id)
    _end_previous(store, connection_id, previous, tracking_id)
    replayed = live_orders.replay(
        order.order_id, connection_id, tracking_id, after_seq, lambda: store.current_tracking(connection_id) == tracking_id
    )
    resumed = request.resume is not None and request.resume.trackingId == tracking_id
    count(Metric.TRACKINGS_RESUMED if resumed else Metric.TRACKINGS_STARTED)
    count(Metric.EVENTS_REPLAYED, replayed)
    logger.info("live order watched", extra={"resumed": resumed, "after_seq": after_seq, "replayed": replayed})


def _resume(store: TrackingStore, request: TrackOrder, connection_id: str, customer_id: str, requested_at: int) -> bool:
    """Re-attach an earlier tracking and replay what the client missed. False: start a new one instead."""
    resume = request.resume
    if resume is None:
        return False
    known = store.get_tracking(resume.trackingId)
    if known is None or known.customer_id != customer_id or known.order_id != request.orderId:
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
    _end_previous(
        store, connection_id, store.switch_connection_tracking(connection_id, known.tracking_id, requested_at), known.tracking_id
    )
    token = new_token()
    tracking = wait_while_held(
        lambda: store.attach_tracking(
            known.tracking_id,
            connection_id,
            customer_id,
            after_seq=resume.afterSeq,  # the client has these: a retried emit must not send them again
            lease=lease_for(token),
            now_ms=now_ms(),
        )
    )
    if tracking is None:
        return False
    logger.append_keys(tracking_id=tracking.tracking_id)
    missed = [frame for frame in tracking.events if frame["seq"] > resume.afterSeq]
    replayed = 0
    with holding(store, tracking.tracking_id, connection_id, token, resume.afterSeq) as lease:
        for frame in missed:
            if not _post_held(store, tracking.tracking_id, connection_id, frame, lease):
                break
            replayed += 1
    count(Metric.TRACKINGS_RESUMED)
    count(Metric.EVENTS_REPLAYED, replayed)
    logger.info("tracking resumed", extra={"missed": len(missed), "replayed": replayed, "after_seq": resume.afterSeq})
    return True


def emit(tracking_id: str, execution_name: str, event: dict[str, Any]) -> EmitOutcome:
    """Store and send one event of a tracking; returns the outcome the state machine branches on.

    Two writes: the append, which takes the send lease, and the lease's release, which records what
    the connection has."""
    store = TrackingStore()
    seq = int(event["seq"])
    logger.append_keys(tracking_id=tracking_id, seq=seq)
    frame = order_event_frame(tracking_id=tracking_id, order_id=event["orderId"], seq=seq, event=event, at=iso_millis(now()))
    token = new_token()
    try:
        tracking = wait_while_held(
            lambda: store.append_event(tracking_id, execution_name, frame, lease=lease_for(token), now_ms=now_ms())
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
        return _send_again(store, current, current.events[seq - 1])
    connection_id = tracking.connection_id
    with holding(store, tracking_id, connection_id, token, tracking.sent_to(connection_id or "")) as lease:
        if connection_id is None:
            logger.info("event stored, no connection")
            return EmitOutcome.STORED
        if not _post_held(store, tracking_id, connection_id, frame, lease):
            return EmitOutcome.DETACHED
    count(Metric.EVENTS_EMITTED)
    logger.info("event sent", extra={"event_type": frame["type"]})
    return EmitOutcome.SENT


def _post_held(store: TrackingStore, tracking_id: str, connection_id: str, frame: dict[str, Any], lease: Lease) -> bool:
    """Post `frame` under `lease`: True when it landed (recorded on the lease, which its release
    writes), False when the connection was gone (410): the tracking is detached, its events kept."""
    if not gateway.post(connection_id, frame):
        store.detach_tracking(tracking_id, connection_id)
        count(Metric.CONNECTIONS_GONE)
        logger.info("connection gone, tracking detached")
        return False
    lease.posted(frame["seq"])
    return True


def _send_again(store: TrackingStore, tracking: Tracking, frame: dict[str, Any]) -> EmitOutcome:
    """A retried emit: post the stored event under a lease of its own, unless the connection has it."""
    if tracking.connection_id is None:
        logger.info("event stored, no connection")
        return EmitOutcome.STORED
    with send_lease(store, tracking.tracking_id, tracking.connection_id, frame["seq"]) as lease:
        if lease.already_sent:
            logger.info("emit repeated: already sent")
            count(Metric.EMITS_REPEATED)
            return EmitOutcome.DUPLICATE
        if not lease.may_post:
            # The tracking was ended or moved to another connection since; the event stays for resume.
            logger.info("event stored, connection carries no longer this tracking")
            return EmitOutcome.STORED
        if not _post_held(store, tracking.tracking_id, tracking.connection_id, frame, lease):
            return EmitOutcome.DETACHED
    count(Metric.EVENTS_EMITTED)
    logger.info("event sent again", extra={"event_type": frame["type"]})
    return EmitOutcome.SENT


def disconnect(connection_id: str) -> None:
    store = TrackingStore()
    current = store.delete_connection(connection_id)
    if current is not None and current.live_order_id:
        from order_tracking import live_orders

        live_orders.drop_watch(current.live_order_id, connection_id, current.tracking_id)
    elif current is not None:
        store.detach_tracking(current.tracking_id, connection_id)
    logger.info("disconnected", extra={"tracking_id": current.tracking_id if current else None})
