"""Live orders at the handler level, against moto: a backend's publish reaches every watcher with the
guarantees of a simulated tracking (issue 18)."""

from __future__ import annotations

import json
import logging
import threading
import time

from order_tracking import wiring
from order_tracking.aws import clients as aws_clients
from order_tracking.delivery.lease import LEASE_MS, Lease, now_ms
from order_tracking.live.watchers import Watcher
from order_tracking.live.watching import new_watch_id
from order_tracking.runtime import settings

from tests.unit.conftest import reply_frame, status
from tests.unit.test_routes import current_tracking, table

LIVE = "LV-2001"


def events(frames):
    return [f for f in frames if "seq" in f]


def stored_order(aws, order_id: str = LIVE):
    return table(aws, "ORDERS_TABLE").get_item(Key={"orderId": order_id}, ConsistentRead=True).get("Item")


def failure_records(aws) -> list[dict]:
    import boto3

    sqs = boto3.client("sqs")
    url = aws.env["PUBLISH_FAILURES_QUEUE_URL"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_the_first_publish_creates_the_order_and_track_order_answers_with_the_events_so_far(routes, aws):
    assert routes.publish(status(LIVE, "order_created"))["outcome"] == "delivered"
    assert routes.publish(status(LIVE, "order_processing"))["seq"] == 2
    client = routes.connect("conn-a")
    assert routes.track("conn-a", LIVE) == {"statusCode": 200}
    frames = events(client.wait_for(2))
    tracking_id = current_tracking(aws, "conn-a")
    assert [(f["seq"], f["type"], f["label"], f["status"]) for f in frames] == [
        (1, "order_created", "Order received", "pending"),
        (2, "order_processing", "Processing", "active"),
    ]
    for frame in frames:
        assert frame["orderId"] == LIVE and frame["trackingId"] == tracking_id
        assert frame["eventId"] == f"{tracking_id}#{frame['seq']}" and frame["at"].endswith("Z")
    assert stored_order(aws)["customerId"] == "demo"


def test_a_publish_is_delivered_to_three_watchers_and_each_keeps_its_own_tracking(routes, aws):
    routes.publish(status(LIVE, "order_created"))
    watchers = {c: routes.connect(c) for c in ("tab-1", "tab-2", "phone")}
    for connection in watchers:
        routes.track(connection, LIVE)
    answer = routes.publish(status(LIVE, "order_sent"))
    assert (answer["outcome"], answer["seq"], answer["watchers"]) == ("delivered", 2, 3)
    for connection, client in watchers.items():
        frames = events(client.wait_for(2))
        assert [(f["seq"], f["type"]) for f in frames] == [(1, "order_created"), (2, "order_sent")]
        assert {f["trackingId"] for f in frames} == {current_tracking(aws, connection)}
    assert len({current_tracking(aws, c) for c in watchers}) == 3


def test_a_watcher_that_was_offline_resumes_and_gets_exactly_what_it_missed(routes, aws):
    routes.publish(status(LIVE, "order_created"))
    first = routes.connect("conn-a")
    routes.track("conn-a", LIVE)
    tracking_id = current_tracking(aws, "conn-a")
    original = events(first.wait_for(1))[0]
    routes.call("$disconnect", "conn-a")
    for kind in ("order_processing", "order_sent"):
        assert routes.publish(status(LIVE, kind))["watchers"] == 0  # nobody watching: stored only

    second = routes.connect("conn-b")
    routes.track("conn-b", LIVE, resume={"trackingId": tracking_id, "afterSeq": 1})
    assert current_tracking(aws, "conn-b") == tracking_id
    replayed = events(second.wait_for(2))
    assert [(f["seq"], f["eventId"]) for f in replayed] == [(2, f"{tracking_id}#2"), (3, f"{tracking_id}#3")]
    routes.publish(status(LIVE, "order_delivered"))
    assert [f["seq"] for f in events(second.wait_for(3))] == [2, 3, 4]
    # A resume from the start replays event 1 with its original eventId and time.
    third = routes.connect("conn-c")
    routes.track("conn-c", LIVE, resume={"trackingId": tracking_id, "afterSeq": 0})
    assert events(third.wait_for(4))[0] == original


def test_a_duplicate_publish_stores_and_delivers_one_event(routes, aws):
    routes.publish(status(LIVE, "order_created"))
    client = routes.connect("conn-a")
    routes.track("conn-a", LIVE)
    retried = status(LIVE, "order_sent", key="shipment-42")
    assert [routes.publish(retried)["outcome"] for _ in range(3)] == ["delivered", "duplicate", "duplicate"]
    # The same key with other contents is the same publish: the first one stands.
    assert routes.publish({**retried, "label": "Shipped again"})["outcome"] == "duplicate"
    time.sleep(0.2)
    assert [f["seq"] for f in events(client.frames)] == [1, 2]
    assert len(stored_order(aws)["events"]) == 2


def test_a_repeated_publish_whose_fan_out_did_not_finish_finishes_it(routes, aws):
    """A first attempt stored the event and crashed before its fan-out: the retry posts it."""
    routes.publish(status(LIVE, "order_created"))
    client = routes.connect("conn-a")
    routes.track("conn-a", LIVE)
    crashed = status(LIVE, "order_sent", key="k-2")
    from order_tracking.wire.publish import parse_publish

    wiring.streams().append(parse_publish(crashed), held=Lease("crashed", now_ms() - 1), now_ms=now_ms())  # lease already expired
    assert events(client.frames)[-1]["seq"] == 1
    assert routes.publish(crashed)["outcome"] == "delivered"
    assert [f["seq"] for f in events(client.wait_for(2))] == [1, 2]
    assert routes.publish(crashed)["outcome"] == "duplicate"


def test_bad_publishes_are_refused_with_why_and_store_nothing(routes, aws):
    client = routes.connect("conn-a")
    bad = [
        ({**status(LIVE), "status": "shipped"}, "invalid field(s): status"),
        ({**status(LIVE), "type": "error"}, "invalid field(s): type"),  # a frame type of the protocol's own
        ({**status(LIVE), "orderId": "LV 2001"}, "invalid field(s): orderId"),
        ({**status(LIVE), "label": ""}, "invalid field(s): label"),
        ({**status(LIVE), "label": "Shipped\u009b2J"}, "invalid field(s): label"),  # a C1 control: CSI
        ({**status(LIVE), "label": "Shipped\u0085READY"}, "invalid field(s): label"),  # a C1 control: NEL
        ({**status(LIVE), "customerId": "demo\u0080"}, "invalid field(s): customerId"),
        ({k: v for k, v in status(LIVE).items() if k != "idempotencyKey"}, "invalid field(s): idempotencyKey"),
        ({**status(LIVE), "labal": "typo"}, "unknown field(s): labal"),
        ("not an object", "detail must be a JSON object"),
    ]
    for detail, why in bad:
        answer = routes.publish(detail)
        assert (answer["outcome"], answer["reason"]) == ("refused", "bad_request"), detail
        assert why in answer["detail"], answer
    assert stored_order(aws) is None
    records = failure_records(aws)
    assert len(records) == len(bad)
    assert {r["refused"]["reason"] for r in records} == {"bad_request"}
    assert records[0]["event"]["detail"] == bad[0][0] and records[0]["event"]["detail-type"] == "Order Status Changed"
    # Nothing reached anyone, and an order never published stays unknown.
    assert reply_frame(routes.track("conn-a", LIVE))["code"] == "order_not_found"
    assert events(client.frames) == []


def test_another_customer_sees_nothing_and_may_not_publish_to_the_order(routes, aws):
    routes.publish(status(LIVE, "order_created"))
    intruder = routes.connect("conn-x", customer="mallory")
    frame = reply_frame(routes.track("conn-x", LIVE, customer="mallory"))
    assert (frame["code"], frame["orderId"]) == ("order_not_found", LIVE)
    owner = routes.connect("conn-a")
    routes.track("conn-a", LIVE)
    answer = routes.publish(status(LIVE, "order_sent", customer="mallory"))
    assert (answer["outcome"], answer["reason"]) == ("refused", "not_owner")
    routes.publish(status(LIVE, "order_sent"))
    assert [f["seq"] for f in events(owner.wait_for(2))] == [1, 2]
    assert events(intruder.frames) == []
    # Nor can it resume the owner's watch.
    frame = reply_frame(
        routes.track("conn-x", LIVE, resume={"trackingId": current_tracking(aws, "conn-a"), "afterSeq": 0}, customer="mallory")
    )
    assert frame["code"] == "order_not_found"


def test_a_seed_order_cannot_be_published_to(routes, aws):
    answer = routes.publish(status("ZX-1001", "order_delivered"))
    assert (answer["outcome"], answer["reason"]) == ("refused", "not_live")
    assert len(stored_order(aws, "ZX-1001")["events"]) == 4


def test_switching_away_from_a_live_order_waits_for_its_fan_out_in_flight(routes, aws):
    routes.publish(status(LIVE, "order_created"))
    client = routes.connect("conn-a")
    routes.track("conn-a", LIVE)
    watch = current_tracking(aws, "conn-a")
    store = wiring.streams()
    # A publish has taken the order's fan-out lease and is posting right now.
    store.take_fanout_lease(LIVE, held=Lease("in-flight", now_ms() + LEASE_MS), now_ms=now_ms())
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("reply", routes.track("conn-a", "ZX-1003")))
    thread.start()
    time.sleep(0.4)
    assert thread.is_alive(), "the switch must not answer before the fan-out in flight has landed"
    assert table(aws, "WATCHERS_TABLE").get_item(Key={"orderId": LIVE, "connectionId": "conn-a"}).get("Item") is None
    store.release_fanout_lease(LIVE, "in-flight", None)
    thread.join(5)
    assert result["reply"] == {"statusCode": 200}
    # Later publishes reach the connection no more.
    routes.publish(status(LIVE, "order_sent"))
    frames = events(client.wait_for(2))
    assert [(f["trackingId"] == watch, f["orderId"]) for f in frames] == [(True, LIVE), (False, "ZX-1003")]


def test_a_publish_meeting_a_replay_waits_for_it_and_sends_nothing_twice(routes, aws):
    for kind in ("order_created", "order_processing"):
        routes.publish(status(LIVE, kind))
    client = routes.connect("conn-a")
    store = wiring.watchers()
    # conn-a's watch is replaying events 1..2 right now (it holds its replay lease).
    stream = stored_order(aws)["streamId"]
    watch = Watcher(LIVE, "conn-a", new_watch_id(stream), stream)
    store.watch(watch, held=Lease("replay", now_ms() + LEASE_MS), now_ms=now_ms())
    result = {}
    publisher = threading.Thread(target=lambda: result.setdefault("answer", routes.publish(status(LIVE, "order_sent"))))
    publisher.start()
    time.sleep(0.4)
    assert publisher.is_alive() and events(client.frames) == []
    store.release_replay_lease(LIVE, "conn-a", "replay", 3)  # its replay read the stream after event 3 was stored
    publisher.join(5)
    assert result["answer"]["watchers"] == 0  # the replay posted it: not sent twice
    routes.publish(status(LIVE, "order_delivered"))
    assert [f["seq"] for f in events(client.wait_for(1))] == [4]


def test_track_order_again_on_the_same_connection_starts_a_new_watch_from_the_start(routes, aws):
    routes.publish(status(LIVE, "order_created"))
    client = routes.connect("conn-a")
    routes.track("conn-a", LIVE)
    first = current_tracking(aws, "conn-a")
    routes.track("conn-a", LIVE)
    second = current_tracking(aws, "conn-a")
    assert first != second
    routes.publish(status(LIVE, "order_sent"))
    frames = events(client.wait_for(3))
    assert [(f["trackingId"], f["seq"]) for f in frames] == [(first, 1), (second, 1), (second, 2)]


def test_a_gone_watcher_is_dropped_and_the_event_kept(routes, aws, management_api):
    routes.publish(status(LIVE, "order_created"))
    routes.connect("conn-a")
    routes.track("conn-a", LIVE)
    management_api.drop("conn-a")
    assert routes.publish(status(LIVE, "order_sent"))["watchers"] == 0
    assert table(aws, "WATCHERS_TABLE").get_item(Key={"orderId": LIVE, "connectionId": "conn-a"}).get("Item") is None
    assert len(stored_order(aws)["events"]) == 2


def test_disconnect_ends_the_watch(routes, aws):
    routes.publish(status(LIVE, "order_created"))
    routes.connect("conn-a")
    routes.track("conn-a", LIVE)
    routes.call("$disconnect", "conn-a")
    assert table(aws, "WATCHERS_TABLE").get_item(Key={"orderId": LIVE, "connectionId": "conn-a"}).get("Item") is None


def test_an_order_past_its_retention_starts_a_new_life(routes, aws):
    routes.publish(status(LIVE, "order_created"))
    client = routes.connect("conn-a")
    routes.track("conn-a", LIVE)
    old_watch = current_tracking(aws, "conn-a")
    table(aws, "ORDERS_TABLE").update_item(
        Key={"orderId": LIVE}, UpdateExpression="SET expiresAt = :past", ExpressionAttributeValues={":past": int(time.time()) - 1}
    )
    assert reply_frame(routes.track("conn-a", LIVE))["code"] == "order_not_found"  # gone, as TTL would delete it
    answer = routes.publish(status(LIVE, "order_created", key="second-life", customer="someone-else"))
    assert (answer["outcome"], answer["seq"]) == ("delivered", 1)
    assert stored_order(aws)["customerId"] == "someone-else"
    owner = routes.connect("conn-b", customer="someone-else")
    routes.track("conn-b", LIVE, resume={"trackingId": old_watch, "afterSeq": 1}, customer="someone-else")
    frames = events(owner.wait_for(1))
    assert frames[0]["seq"] == 1 and frames[0]["trackingId"] != old_watch  # a new watch of the new life
    assert [f["trackingId"] for f in events(client.frames)] == [old_watch]


def test_an_order_holds_at_most_its_event_limit(routes, aws, monkeypatch):
    from order_tracking.live import streams

    monkeypatch.setattr(streams, "MAX_EVENTS", 2)
    for n in (1, 2):
        assert routes.publish(status(LIVE, "order_processing", key=f"k{n}"))["outcome"] == "delivered"
    answer = routes.publish(status(LIVE, "order_sent", key="k3"))
    assert (answer["outcome"], answer["reason"]) == ("refused", "event_limit")
    assert routes.publish(status(LIVE, "order_processing", key="k2"))["outcome"] == "duplicate"  # a retry is still a retry
    assert len(stored_order(aws)["events"]) == 2


class PoolWarnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "pool is full" in record.getMessage():
            self.messages.append(record.getMessage())


def test_a_cold_fan_out_to_200_watchers_posts_each_once_32_at_a_time_and_counts_exactly(
    routes, aws, management_api, emf, monkeypatch
):
    """From a cold function (no client built yet): the fan-out's threads share only the management
    API's client, sized to the fan-out's width; the metrics are counted on the handler's thread."""
    monkeypatch.setenv("MAX_CONNECTIONS_PER_CUSTOMER", "1000")
    aws_clients.reset()
    settings.reset()
    routes.publish(status(LIVE, "order_created"))
    watchers = [routes.connect(f"watch-{i}") for i in range(200)]
    for i in range(200):
        routes.track(f"watch-{i}", LIVE)
    for i in range(0, 200, 4):
        management_api.drop(f"watch-{i}")  # a quarter went away unnoticed: 410
    emf()
    aws_clients.reset()
    settings.reset()
    management_api.latency, management_api.max_in_flight = 0.05, 0
    discarded = PoolWarnings()
    logging.getLogger("urllib3.connectionpool").addHandler(discarded)
    try:
        answer = routes.publish(status(LIVE, "order_sent"))
    finally:
        management_api.latency = 0.0
        logging.getLogger("urllib3.connectionpool").removeHandler(discarded)
    assert (answer["outcome"], answer["seq"], answer["watchers"]) == ("delivered", 2, 150)
    for i, watcher in enumerate(watchers):
        assert [f["seq"] for f in events(watcher.frames)] == ([1] if i % 4 == 0 else [1, 2]), i
    totals, _ = emf()
    assert totals == {"EventsPublished": 1, "LiveEventsSent": 150, "ConnectionsGone": 50}
    assert management_api.max_in_flight > 10
    # botocore's default pool keeps 10 connections: each post beyond them opened a connection of its
    # own and threw it away after (on AWS a TCP and TLS handshake each), with this warning.
    assert discarded.messages == []
    remaining = table(aws, "WATCHERS_TABLE").query(
        KeyConditionExpression="orderId = :o", ExpressionAttributeValues={":o": LIVE}, ConsistentRead=True
    )["Items"]
    assert len(remaining) == 150  # the gone ones' watches dropped
