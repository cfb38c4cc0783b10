"""Route handlers against moto: what a client sees and what is stored."""

from __future__ import annotations

import json

from handlers import emit

from tests.unit.conftest import LambdaContextStub, reply_frame

SEED_TYPES = {
    "ZX-1001": ["order_created", "order_processing", "order_sent", "order_delivered"],
    "ZX-1002": ["order_created", "order_processing", "order_delayed", "order_sent"],
    "ZX-1003": ["order_created", "order_cancelled"],
}


def table(aws, env_key: str):
    return aws.dynamodb.Table(aws.env[env_key])


def execution_input(aws, tracking_id: str) -> dict:
    arn = f"{aws.state_machine_arn.replace(':stateMachine:', ':express:')}:{tracking_id}"
    executions = aws.sfn.list_executions(stateMachineArn=aws.state_machine_arn)["executions"]
    (execution,) = [e for e in executions if e["name"] == tracking_id] or [{"executionArn": arn}]
    return json.loads(aws.sfn.describe_execution(executionArn=execution["executionArn"])["input"])


def current_tracking(aws, connection_id: str) -> str:
    return table(aws, "CONNECTIONS_TABLE").get_item(Key={"connectionId": connection_id})["Item"]["trackingId"]


def emit_step(aws, tracking_id: str, seq: int) -> str:
    """Run the state machine's Emit task for event `seq` (2 or more) of a tracking, as the execution would."""
    (event,) = [e for e in execution_input(aws, tracking_id)["events"] if e["seq"] == seq]
    payload = {"trackingId": tracking_id, "executionName": tracking_id, "event": event}
    return emit.handler(payload, LambdaContextStub())["outcome"]


def test_connect_stores_the_connection_with_the_demo_customer(routes, aws):
    routes.connect("conn-a")
    item = table(aws, "CONNECTIONS_TABLE").get_item(Key={"connectionId": "conn-a"})["Item"]
    assert item["customerId"] == "demo"
    assert item["expiresAt"] > 0


def test_track_order_sends_the_first_event_and_starts_one_named_execution_with_the_rest(routes, aws):
    client = routes.connect("conn-a")
    assert routes.track("conn-a", "ZX-1001") == {"statusCode": 200}
    tracking_id = current_tracking(aws, "conn-a")
    assert [(f["seq"], f["type"]) for f in client.frames] == [(1, SEED_TYPES["ZX-1001"][0])]  # already there
    execution = execution_input(aws, tracking_id)
    assert [e["type"] for e in execution["events"]] == SEED_TYPES["ZX-1001"][1:]
    assert [e["seq"] for e in execution["events"]] == [2, 3, 4]
    assert {e["orderId"] for e in execution["events"]} == {"ZX-1001"}
    assert (execution["minDelay"], execution["maxDelay"]) == (3, 10)
    tracking = table(aws, "TRACKINGS_TABLE").get_item(Key={"trackingId": tracking_id})["Item"]
    assert tracking["state"] == "live" and tracking["connectionId"] == "conn-a" and tracking["nextSeq"] == 2
    assert [e["eventId"] for e in tracking["events"]] == [f"{tracking_id}#1"]


def test_emitted_events_reach_the_client_with_every_protocol_field(routes, aws):
    client = routes.connect("conn-a")
    routes.track("conn-a", "ZX-1003")
    tracking_id = current_tracking(aws, "conn-a")
    assert emit_step(aws, tracking_id, 2) == "sent"
    frames = client.wait_for(2)
    assert [f["type"] for f in frames] == SEED_TYPES["ZX-1003"]
    first, last = frames
    assert first["label"] == "Order received" and first["status"] == "pending"
    assert last["label"] == "Cancelled by customer" and last["status"] == "cancelled"
    for seq, frame in enumerate(frames, start=1):
        assert frame["orderId"] == "ZX-1003"
        assert frame["seq"] == seq
        assert frame["trackingId"] == tracking_id
        assert frame["eventId"] == f"{tracking_id}#{seq}"
        assert len(frame["at"]) == 24 and frame["at"].endswith("Z")


def test_unknown_order_answers_order_not_found_and_ends_the_previous_tracking(routes, aws):
    client = routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    old = current_tracking(aws, "conn-a")
    assert client.wait_for(1)[0]["seq"] == 1
    frame = reply_frame(routes.track("conn-a", "ZX-9999"))
    assert frame["type"] == "error" and frame["code"] == "order_not_found"
    assert frame["status"] == "error" and frame["orderId"] == "ZX-9999" and frame["label"] == "Order not found"
    assert emit_step(aws, old, 2) == "superseded"
    assert len(client.frames) == 1


def test_switching_orders_mid_cycle_fences_the_old_execution(routes, aws):
    client = routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    old = current_tracking(aws, "conn-a")
    routes.track("conn-a", "ZX-1002")
    new = current_tracking(aws, "conn-a")
    assert new != old
    # The old execution wakes from its wait: it stores and sends nothing more.
    assert emit_step(aws, old, 2) == "superseded"
    frames = client.wait_for(2)
    assert [(f["trackingId"], f["seq"]) for f in frames] == [(old, 1), (new, 1)]
    assert frames[1]["orderId"] == "ZX-1002"
    stored_old = table(aws, "TRACKINGS_TABLE").get_item(Key={"trackingId": old})["Item"]
    assert stored_old["state"] == "ended" and len(stored_old["events"]) == 1


def test_an_emit_retried_twice_stores_and_delivers_one_event(routes, aws):
    client = routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    tracking_id = current_tracking(aws, "conn-a")
    assert [emit_step(aws, tracking_id, 2) for _ in range(3)] == ["sent", "duplicate", "duplicate"]
    assert [f["seq"] for f in client.wait_for(2)] == [1, 2]
    stored = table(aws, "TRACKINGS_TABLE").get_item(Key={"trackingId": tracking_id})["Item"]
    assert len(stored["events"]) == 2 and stored["nextSeq"] == 3
    # What the connection has is recorded on the tracking, with the lease's release: no write of its own.
    assert stored["deliveredTo"] == "conn-a" and stored["deliveredSeq"] == 2
    assert "leaseToken" not in stored


def test_a_retry_after_a_failed_post_sends_the_stored_event_unchanged(routes, aws):
    client = routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    tracking_id = current_tracking(aws, "conn-a")
    # A first attempt stored event 2 and then crashed before posting it.
    event = execution_input(aws, tracking_id)["events"][0]
    stored_frame = {**event, "trackingId": tracking_id, "eventId": f"{tracking_id}#2", "at": "2026-01-01T00:00:00.000Z"}
    table(aws, "TRACKINGS_TABLE").update_item(
        Key={"trackingId": tracking_id},
        UpdateExpression="SET events = list_append(events, :e), nextSeq = :n",
        ExpressionAttributeValues={":e": [stored_frame], ":n": 3},
    )
    assert emit_step(aws, tracking_id, 2) == "sent"
    assert emit_step(aws, tracking_id, 2) == "duplicate"
    assert client.wait_for(2)[1:] == [stored_frame]


def test_a_gone_connection_detaches_the_tracking_and_keeps_the_event(routes, aws, management_api):
    routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    tracking_id = current_tracking(aws, "conn-a")
    management_api.drop("conn-a")  # the post will get 410 Gone
    assert emit_step(aws, tracking_id, 2) == "detached"
    stored = table(aws, "TRACKINGS_TABLE").get_item(Key={"trackingId": tracking_id})["Item"]
    assert "connectionId" not in stored and stored["state"] == "live"
    assert [e["seq"] for e in stored["events"]] == [1, 2]
    # The execution runs to its end; later events are stored for resume.
    assert emit_step(aws, tracking_id, 3) == "stored"


def test_disconnect_removes_the_connection_and_keeps_the_tracking_running(routes, aws):
    routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    tracking_id = current_tracking(aws, "conn-a")
    assert routes.call("$disconnect", "conn-a") == {"statusCode": 200}
    assert "Item" not in table(aws, "CONNECTIONS_TABLE").get_item(Key={"connectionId": "conn-a"})
    stored = table(aws, "TRACKINGS_TABLE").get_item(Key={"trackingId": tracking_id})["Item"]
    assert stored["state"] == "live" and "connectionId" not in stored
    assert emit_step(aws, tracking_id, 2) == "stored"


def test_resume_replays_missed_events_in_order_with_their_original_ids(routes, aws):
    first = routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    tracking_id = current_tracking(aws, "conn-a")
    original = first.wait_for(1)[0]
    routes.call("$disconnect", "conn-a")
    assert [emit_step(aws, tracking_id, seq) for seq in (2, 3)] == ["stored", "stored"]

    second = routes.connect("conn-b")
    assert routes.track("conn-b", "ZX-1001", resume={"trackingId": tracking_id, "afterSeq": 0}) == {"statusCode": 200}
    replayed = second.wait_for(3)
    assert [f["seq"] for f in replayed] == [1, 2, 3]
    assert replayed[0]["eventId"] == original["eventId"] and replayed[0]["at"] == original["at"]
    assert emit_step(aws, tracking_id, 4) == "sent"
    assert [f["seq"] for f in second.wait_for(4)] == [1, 2, 3, 4]


def test_resume_of_an_unknown_tracking_starts_a_new_one(routes, aws):
    routes.connect("conn-a")
    routes.track("conn-a", "ZX-1002", resume={"trackingId": "no-such-tracking", "afterSeq": 2})
    tracking_id = current_tracking(aws, "conn-a")
    assert tracking_id != "no-such-tracking"
    assert [e["type"] for e in execution_input(aws, tracking_id)["events"]] == SEED_TYPES["ZX-1002"][1:]


def test_ping_answers_pong(routes):
    frame = reply_frame(routes.call("ping", "conn-a", '{"type":"ping"}'))
    assert frame["type"] == "pong" and frame["at"].endswith("Z")


def test_unknown_type_and_garbage_get_structured_errors(routes):
    assert reply_frame(routes.call("$default", "conn-a", '{"type":"dance"}'))["code"] == "unknown_type"
    assert reply_frame(routes.call("$default", "conn-a", "not json"))["code"] == "bad_request"
    assert reply_frame(routes.call("$default", "conn-a", "[1,2]"))["code"] == "bad_request"
    assert reply_frame(routes.call("$default", "conn-a", "x" * 200_000))["code"] == "bad_request"


def test_track_order_frames_with_bad_fields_get_bad_request_and_change_nothing(routes, aws):
    routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    tracking_id = current_tracking(aws, "conn-a")
    for body in (
        {"type": "track_order"},
        {"type": "track_order", "orderId": 1001},
        {"type": "track_order", "orderId": ""},
        {"type": "track_order", "orderId": "Z" * 65},
        {"type": "track_order", "orderId": ["ZX-1001"]},
        {"type": "track_order", "orderId": "ZX-1001", "resume": {"trackingId": "x", "afterSeq": "2"}},
        {"type": "track_order", "orderId": "ZX-1001", "resume": "yes"},
    ):
        frame = reply_frame(routes.call("track_order", "conn-a", json.dumps(body)))
        assert (frame["type"], frame["code"], frame["status"]) == ("error", "bad_request", "error"), body
    # A refused frame does not end the running tracking.
    assert current_tracking(aws, "conn-a") == tracking_id
    assert emit_step(aws, tracking_id, 2) == "sent"


def test_a_connect_that_cannot_store_the_connection_refuses_the_handshake(routes, monkeypatch):
    from order_tracking.connections.store import ConnectionStore

    def unavailable(*args, **kwargs):
        raise RuntimeError("DynamoDB unavailable")

    monkeypatch.setattr(ConnectionStore, "put", unavailable)
    assert routes.call("$connect", "conn-x") == {"statusCode": 500}


def test_resume_of_an_ended_tracking_starts_a_new_one_that_runs_to_its_end(routes, aws):
    """A tracking ends when its connection moves on (or its start failed after its first event): no
    execution emits for it any more. Re-attaching it would leave the client waiting for events that
    never come, so a resume of it starts a new tracking, as for an unknown one."""
    client = routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    ended = current_tracking(aws, "conn-a")
    routes.track("conn-a", "ZX-1003")  # ends ZX-1001's tracking
    assert table(aws, "TRACKINGS_TABLE").get_item(Key={"trackingId": ended})["Item"]["state"] == "ended"

    routes.track("conn-a", "ZX-1001", resume={"trackingId": ended, "afterSeq": 1})
    fresh = current_tracking(aws, "conn-a")
    assert fresh != ended
    assert [(f["trackingId"], f["seq"]) for f in client.wait_for(3)][-1] == (fresh, 1)
    assert emit_step(aws, fresh, 2) == "sent"
    assert emit_step(aws, ended, 2) == "superseded"


def test_a_failed_lease_release_after_the_first_post_still_starts_the_tracking(routes, aws, monkeypatch):
    """Releasing the send lease is the holder's clean-up; the lease expires by itself. A DynamoDB fault on
    it (after botocore's retry) must not turn a delivered first event into an `internal` error and an
    ended tracking."""
    from botocore.exceptions import ClientError
    from order_tracking.simulated.trackings import TrackingStore

    def unavailable(self, *args, **kwargs):
        raise ClientError({"Error": {"Code": "InternalServerError"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, "UpdateItem")

    client = routes.connect("conn-a")
    monkeypatch.setattr(TrackingStore, "release_send_lease", unavailable)
    assert routes.track("conn-a", "ZX-1001") == {"statusCode": 200}
    tracking_id = current_tracking(aws, "conn-a")
    assert [f["seq"] for f in client.wait_for(1)] == [1]
    assert table(aws, "TRACKINGS_TABLE").get_item(Key={"trackingId": tracking_id})["Item"]["state"] == "live"
    assert [e["seq"] for e in execution_input(aws, tracking_id)["events"]] == [2, 3, 4]


def test_an_order_item_written_without_a_kind_is_tracked_as_a_scripted_order(routes, aws):
    """An operator (or a test) adding a demo order by hand writes no `kind`: it plays like a seed order."""
    table(aws, "ORDERS_TABLE").put_item(
        Item={
            "orderId": "ZX-HAND",
            "customerId": "demo",
            "events": [
                {"type": "order_created", "label": "Made by hand", "status": "pending"},
                {"type": "order_sent", "label": "Sent", "status": "in_transit"},
            ],
        }
    )
    client = routes.connect("conn-a")
    assert routes.track("conn-a", "ZX-HAND") == {"statusCode": 200}
    assert [(f["seq"], f["label"]) for f in client.frames] == [(1, "Made by hand")]
    tracking_id = current_tracking(aws, "conn-a")
    assert [e["label"] for e in execution_input(aws, tracking_id)["events"]] == ["Sent"]
    assert emit_step(aws, tracking_id, 2) == "sent"
    assert [f["label"] for f in client.wait_for(2)] == ["Made by hand", "Sent"]
