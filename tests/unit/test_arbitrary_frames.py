"""Property: no frame a client can send crashes a route or corrupts state; each gets a structured answer."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from order_tracking.wire.publish import parse_publish

from tests.unit.conftest import reply_frame

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
order_ids = st.one_of(json_values, st.sampled_from(["ZX-1001", "ZX-1003", "zx-1001", "ZX-9999", " ZX-1001 ", "Ω", "a" * 64]))
track_order_objects = st.fixed_dictionaries(
    {"type": st.just("track_order")},
    optional={
        "orderId": order_ids,
        "resume": json_values | st.fixed_dictionaries({"trackingId": json_values, "afterSeq": json_values}),
    },
)
frames = st.one_of(
    st.text(max_size=300),
    json_values.map(json.dumps),
    track_order_objects.map(json.dumps),
    st.dictionaries(st.text(max_size=10), json_values, max_size=5).map(json.dumps),
    st.just("x" * 5000),
    st.just('{"type":"track_order","orderId":"ZX-1001"' + " " * 5000 + "}"),
)
ANSWERS = {"track_order": {"bad_request", "order_not_found"}, "$default": {"bad_request", "unknown_type"}}
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(body=frames)
def test_track_order_answers_every_frame_with_success_or_a_client_error(routes, aws, body):
    routes.management_api.open("fuzz")
    routes.call("$connect", "fuzz")
    reply = routes.call("track_order", "fuzz", body)
    if "body" in reply:
        frame = reply_frame(reply)
        assert frame["type"] == "error" and frame["code"] in ANSWERS["track_order"], frame
        assert {"label", "status", "orderId", "at"} <= frame.keys()
    else:
        assert reply == {"statusCode": 200}


@FUZZ
@given(body=frames)
def test_default_route_answers_every_frame_with_a_client_error(routes, body):
    frame = reply_frame(routes.call("$default", "fuzz", body))
    assert frame["type"] == "error" and frame["code"] in ANSWERS["$default"], frame


ping_frames = st.one_of(
    st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    st.just({"pad": "x" * 5000}),
).map(lambda extra: json.dumps({**extra, "type": "ping"}))


@FUZZ
@given(body=ping_frames)
def test_ping_answers_pong_to_any_ping_frame_within_the_frame_limit(routes, body):
    """Route selection sends ping only JSON objects of type ping; the 4 KB limit holds for them too."""
    frame = reply_frame(routes.call("ping", "fuzz", body))
    if len(body.encode()) <= 4096:
        assert frame["type"] == "pong", frame
    else:
        assert frame["type"] == "error" and frame["code"] == "bad_request", frame


def test_state_survives_the_fuzz(routes, aws):
    """After refused frames, the connection still tracks normally."""
    routes.connect("conn-z")
    for body in ("{", '{"type":"track_order","orderId":{"$ne":null}}', "null", '"ZX-1001"'):
        routes.call("track_order", "conn-z", body)
    assert routes.track("conn-z", "ZX-1001") == {"statusCode": 200}


publish_details = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "orderId": order_ids | st.sampled_from(["LV-FUZZ", "LV-FUZZ\n"]),
            "customerId": json_values | st.sampled_from(["demo", "x" * 129, "\x00"]),
            "type": json_values | st.sampled_from(["order_sent", "error", "pong", "a" * 33]),
            "label": json_values | st.sampled_from(["Shipped", "", "\x1b[31m", "x" * 201]),
            "status": json_values | st.sampled_from(["active", "shipped"]),
            "idempotencyKey": json_values | st.sampled_from(["k-1", "has space", "é"]),
            "extra": json_values,
        },
    ),
)


@FUZZ
@given(detail=publish_details)
def test_the_publish_function_answers_any_detail_and_stores_only_valid_events(routes, aws, detail):
    answer = routes.publish(detail)
    assert answer["outcome"] in ("delivered", "duplicate", "refused"), answer
    if answer["outcome"] == "refused":
        assert answer["reason"] in ("bad_request", "not_live", "not_owner") and answer["detail"]
    for item in aws.dynamodb.Table(aws.env["ORDERS_TABLE"]).scan()["Items"]:
        for event in item["events"]:
            stored = {"orderId": item["orderId"], "customerId": item["customerId"], "idempotencyKey": event.get("key", "seed")}
            parse_publish({**stored, "type": event["type"], "label": event["label"], "status": event["status"]})
