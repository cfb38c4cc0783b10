"""Issue 5's guarantees at the handler level: no stale event after a switch, none lost, none twice."""

from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import ClientError
from handlers import emit
from order_tracking import wiring
from order_tracking.aws import clients as aws_clients
from order_tracking.delivery.lease import LEASE_MS, Lease, LeaseHeld
from order_tracking.simulated.trackings import TrackingStore

from tests.unit.conftest import LambdaContextStub, reply_frame
from tests.unit.test_routes import current_tracking, emit_step, execution_input, table


def _in_thread(function, *args):
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", function(*args)))
    thread.start()
    return thread, result


ANY_LATER_SEQ = 1_000_000  # a post of an event the connection does not have yet


def _take_lease_as(tracking_id: str, connection_id: str, hold_ms: int = LEASE_MS) -> str:
    """Take the tracking's send lease as a post of it would; returns the holder's token."""
    now = int(time.time() * 1000)
    token = f"test-{tracking_id}-{now}"
    state, _ = wiring.trackings().take_send_lease(tracking_id, connection_id, Lease(token, now + hold_ms), now, seq=ANY_LATER_SEQ)
    assert state == "acquired"
    return token


def test_an_error_answering_a_switch_waits_for_the_old_trackings_post_in_flight(routes, aws):
    routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    old = current_tracking(aws, "conn-a")
    token = _take_lease_as(old, "conn-a")  # the old emit passed its fence and is posting right now
    thread, result = _in_thread(routes.track, "conn-a", "ZX-9999")
    time.sleep(0.4)
    assert thread.is_alive(), "the answer must not overtake the old tracking's post"
    wiring.trackings().release_send_lease(old, token)
    thread.join(5)
    assert reply_frame(result["value"])["code"] == "order_not_found"


def test_the_new_trackings_first_event_waits_for_the_old_trackings_post_in_flight(routes, aws):
    client = routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    old = current_tracking(aws, "conn-a")
    client.wait_for(1)
    token = _take_lease_as(old, "conn-a")  # the old tracking's emit 2 is posting right now
    thread, result = _in_thread(routes.track, "conn-a", "ZX-1003")  # the route sends the new first event
    time.sleep(0.4)
    assert thread.is_alive() and [f["trackingId"] for f in client.frames] == [old]
    wiring.trackings().release_send_lease(old, token)
    thread.join(5)
    assert result["value"] == {"statusCode": 200}
    new = current_tracking(aws, "conn-a")
    assert [f["trackingId"] for f in client.wait_for(2)] == [old, new]


def test_two_posts_of_one_tracking_take_turns_and_neither_frees_the_others_lease(routes, aws):
    """A resume's replay and a live emit of the same tracking: the first to finish must not free the
    lease while the other still posts, or a switch could answer before that post lands."""
    routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    tracking = current_tracking(aws, "conn-a")
    store = wiring.trackings()
    first = _take_lease_as(tracking, "conn-a")  # say, the replay
    now = int(time.time() * 1000)
    assert store.take_send_lease(tracking, "conn-a", Lease("live-emit", now + LEASE_MS), now, seq=ANY_LATER_SEQ)[0] == "held"
    store.release_send_lease(tracking, first)
    now = int(time.time() * 1000)
    assert store.take_send_lease(tracking, "conn-a", Lease("live-emit", now + LEASE_MS), now, seq=ANY_LATER_SEQ)[0] == "acquired"
    store.release_send_lease(tracking, first)  # a late, repeated release by the first holder: no effect
    with pytest.raises(LeaseHeld):  # so a switch still waits for the live emit
        store.end(tracking, "conn-a", int(time.time() * 1000))
    store.release_send_lease(tracking, "live-emit")
    assert store.end(tracking, "conn-a", int(time.time() * 1000))


def test_a_lease_left_by_a_crashed_emit_expires(routes, aws):
    routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    old = current_tracking(aws, "conn-a")
    _take_lease_as(old, "conn-a", hold_ms=300)
    lease_until = int(table(aws, "TRACKINGS_TABLE").get_item(Key={"trackingId": old})["Item"]["leaseUntil"])
    assert reply_frame(routes.track("conn-a", "ZX-9999"))["code"] == "order_not_found"
    answered = time.time() * 1000
    assert lease_until <= answered < lease_until + 2000  # it waited for the lease to lapse, no longer


def test_an_old_emit_that_stored_before_the_switch_posts_before_the_switchs_answer(routes, aws):
    """The old emit's append took the lease, then the connection switched before its post: the switch
    waits for that post, so the old event arrives before the new tracking's first, never after."""
    client = routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    old = current_tracking(aws, "conn-a")
    client.wait_for(1)
    store = wiring.trackings()
    frame = {
        "type": "order_processing",
        "label": "Processing",
        "status": "active",
        "orderId": "ZX-1001",
        "at": "2026-11-28T10:00:00.000Z",
        "seq": 2,
        "trackingId": old,
        "eventId": f"{old}#2",
    }
    now = int(time.time() * 1000)
    store.append(old, old, frame, held=Lease("old-emit", now + LEASE_MS), now_ms=now)  # stored, lease taken
    thread, result = _in_thread(routes.track, "conn-a", "ZX-1003")  # the switch lands before the old post
    time.sleep(0.4)
    assert thread.is_alive(), "the switch must wait for the old tracking's post in flight"
    assert wiring.gateway().post("conn-a", frame)  # the old emit posts
    store.release_send_lease(old, "old-emit", ("conn-a", 2))
    thread.join(5)
    assert result["value"] == {"statusCode": 200}
    new = current_tracking(aws, "conn-a")
    assert [(f["trackingId"], f["seq"]) for f in client.wait_for(3)] == [(old, 1), (old, 2), (new, 1)]
    assert emit_step(aws, old, 3) == "superseded"  # and the old execution stops at its next emit


def test_throttling_that_outlasts_botocore_retries_surfaces_as_a_retryable_fault(routes, aws, monkeypatch):
    routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    tracking_id = current_tracking(aws, "conn-a")
    throttled = ClientError(
        {
            "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "UpdateItem",
    )

    def still_throttled(*args, **kwargs):
        raise throttled

    monkeypatch.setattr(TrackingStore, "append", still_throttled)
    payload = {
        "trackingId": tracking_id,
        "executionName": tracking_id,
        "event": {"seq": 2, "orderId": "ZX-1001", "type": "order_processing", "label": "Processing", "status": "active"},
    }
    try:
        emit.handler(payload, LambdaContextStub())
    except emit.TransientFault as fault:
        assert "slow down" in str(fault)
    else:
        raise AssertionError("expected TransientFault, which the state machine retries")
    monkeypatch.undo()
    # Nothing was stored by the failed attempt; the retry stores and sends the event once.
    assert emit_step(aws, tracking_id, 2) == "sent"
    assert emit_step(aws, tracking_id, 2) == "duplicate"


def test_a_track_order_run_after_a_later_one_of_its_connection_has_no_effect(routes, aws):
    """API Gateway may invoke a connection's messages out of order: the later request wins."""
    client = routes.connect("conn-a")
    first, second = 1_800_000_000_000, 1_800_000_000_900  # ZX-1002 sent, then ZX-1001 0.9 s later
    second_body = '{"type":"track_order","orderId":"ZX-1001"}'
    first_body = '{"type":"track_order","orderId":"ZX-1002"}'
    assert routes.call("track_order", "conn-a", second_body, received_at=second) == {"statusCode": 200}
    winner = current_tracking(aws, "conn-a")
    assert routes.call("track_order", "conn-a", first_body, received_at=first) == {"statusCode": 200}
    assert current_tracking(aws, "conn-a") == winner
    started = aws.sfn.list_executions(stateMachineArn=aws.state_machine_arn)["executions"]
    assert [e["name"] for e in started] == [winner]  # the overtaken request started nothing
    time.sleep(0.2)
    assert [(f["orderId"], f["trackingId"]) for f in client.frames] == [("ZX-1001", winner)]  # and sent nothing


def test_a_retried_emit_of_an_event_a_resume_replayed_is_not_sent_twice(routes, aws):
    """Attempt 1 of emit 2 stored its event and crashed before posting; the client came back on a new
    connection and the replay delivered it; then Step Functions retries emit 2."""
    first = routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    tracking_id = current_tracking(aws, "conn-a")
    store = wiring.trackings()
    event = execution_input(aws, tracking_id)["events"][0]
    frame = {**event, "trackingId": tracking_id, "eventId": f"{tracking_id}#2", "at": "2026-01-01T00:00:00.000Z"}
    now = int(time.time() * 1000)
    store.append(tracking_id, tracking_id, frame, held=Lease("attempt-1", now + 200), now_ms=now)  # stored, never posted
    routes.management_api.drop("conn-a")
    routes.call("$disconnect", "conn-a")
    second = routes.connect("conn-b")
    routes.track("conn-b", "ZX-1001", resume={"trackingId": tracking_id, "afterSeq": 1})
    assert [f["seq"] for f in second.wait_for(1)] == [2]
    assert emit_step(aws, tracking_id, 2) == "duplicate"  # the retry finds the connection has it
    time.sleep(0.2)
    assert [f["seq"] for f in second.frames] == [2] and [f["seq"] for f in first.frames] == [1]


def test_an_emit_costs_two_dynamodb_writes(routes, aws):
    """Append (the fence) taking the send lease, then its release with what was sent: no third write."""
    routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    tracking_id = current_tracking(aws, "conn-a")
    calls: list[str] = []
    events = aws_clients.dynamodb().meta.client.meta.events

    def record(model, **_):
        calls.append(model.name)

    events.register("before-call.dynamodb", record)
    try:
        assert emit_step(aws, tracking_id, 2) == "sent"
    finally:
        events.unregister("before-call.dynamodb", record)
    writes = [c for c in calls if c in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")]
    assert writes == ["UpdateItem", "UpdateItem"], calls


def test_the_first_event_is_posted_by_the_fifth_aws_call_after_track_order(routes, aws):
    """Get the order, store the tracking with its first event and its send lease, switch the connection,
    end the previous tracking, post: the first event does not wait for Step Functions or a Lambda invoke."""
    routes.connect("conn-a")
    routes.track("conn-a", "ZX-1002")  # a tracking to switch away from
    calls: list[str] = []

    def record(model, **_):
        calls.append(model.name)

    clients = [aws_clients.dynamodb().meta.client, aws_clients.stepfunctions(), wiring.gateway().client]
    for client in clients:
        client.meta.events.register("before-call", record)
    try:
        assert routes.track("conn-a", "ZX-1001") == {"statusCode": 200}
    finally:
        for client in clients:
            client.meta.events.unregister("before-call", record)
    assert calls[: calls.index("PostToConnection") + 1] == ["GetItem", "PutItem", "UpdateItem", "UpdateItem", "PostToConnection"]
    assert calls.index("PostToConnection") + 1 <= 6  # the bound: at most 6 sequential calls
    assert calls[-1] == "StartExecution"  # the execution paces the rest, from seq 2
