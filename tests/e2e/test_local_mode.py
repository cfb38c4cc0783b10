"""The protocol end to end: what a WebSocket client sees, from local mode (or a deployed stack with
--stack: the tests that take `target`), and local mode's own parts (the tests that take `local_mode`)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import pytest
import websockets
from botocore.exceptions import ClientError

from local.aws.services import local_client
from tests.support.aio import run
from tests.support.ws_client import TrackingClient

SEED = {
    "ZX-1001": [
        ("order_created", "Order received", "pending"),
        ("order_processing", "Processing", "active"),
        ("order_sent", "Shipped", "active"),
        ("order_delivered", "Delivered", "success"),
    ],
    "ZX-1002": [
        ("order_created", "Order received", "pending"),
        ("order_processing", "Processing", "active"),
        ("order_delayed", "Delivery delayed", "warning"),
        ("order_sent", "Shipped", "active"),
    ],
    "ZX-1003": [("order_created", "Order received", "pending"), ("order_cancelled", "Cancelled by customer", "cancelled")],
}
FIRST_EVENT_WITHIN = 1.0  # seconds after track_order: "right after, with no wait"
FIRST_EVENT_WITHIN_DEPLOYED = 5.0  # a deployed stack's first call may meet Lambda cold starts
SLACK = 15  # seconds beyond the delays a whole cycle may take


def cycle_timeout(target, order_id: str) -> float:
    return (len(SEED[order_id]) - 1) * target.max_delay + SLACK


def events(frames):
    return [f for f in frames if "seq" in f]


@pytest.mark.parametrize("order_id", sorted(SEED))
def test_each_seed_order_arrives_complete_in_order_with_protocol_fields(target, deployed_stack, order_id):
    async def scenario():
        client = await TrackingClient.open(target.url())
        sent_at = await client.track(order_id)
        frames = await client.wait_for(lambda f: len(events(f)) >= len(SEED[order_id]), timeout=cycle_timeout(target, order_id))
        await client.close()
        return sent_at, frames, client.arrivals

    sent_at, frames, arrivals = run(scenario())
    got = events(frames)
    assert [(f["type"], f["label"], f["status"]) for f in got] == SEED[order_id]
    assert [f["seq"] for f in got] == list(range(1, len(SEED[order_id]) + 1))
    assert {f["orderId"] for f in got} == {order_id}
    assert len({f["trackingId"] for f in got}) == 1
    assert len({f["eventId"] for f in got}) == len(got)
    for frame in got:
        datetime.strptime(frame["at"], "%Y-%m-%dT%H:%M:%S.%fZ")
        assert len(frame["at"]) == 24
    assert arrivals[0] - sent_at < (FIRST_EVENT_WITHIN_DEPLOYED if deployed_stack else FIRST_EVENT_WITHIN)
    # Later events: a whole number of seconds in [min, max] after the one before (emit time, `at`).
    stamps = [datetime.strptime(f["at"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() for f in got]
    for gap in (b - a for a, b in zip(stamps, stamps[1:], strict=False)):
        assert target.min_delay - 0.05 <= gap <= target.max_delay + 0.6, gap


def test_switching_mid_cycle_stops_the_old_tracking(target):
    async def scenario():
        client = await TrackingClient.open(target.url())
        await client.track("ZX-1001")
        await client.wait_for(lambda f: len(events(f)) >= 2, timeout=target.max_delay + SLACK)
        await client.track("ZX-1003")
        await client.wait_for(
            lambda f: [e["orderId"] for e in events(f)].count("ZX-1003") >= 2, timeout=cycle_timeout(target, "ZX-1003")
        )
        await asyncio.sleep(target.max_delay + 1)  # the old tracking's next event would be due by now
        await client.close()
        return client.frames

    frames = events(run(scenario()))
    old = frames[0]["trackingId"]
    first_new = next(i for i, f in enumerate(frames) if f["orderId"] == "ZX-1003")
    assert all(f["trackingId"] != old for f in frames[first_new:])
    assert [f["label"] for f in frames[first_new:]] == ["Order received", "Cancelled by customer"]


def test_unknown_order_gets_a_structured_error(target):
    async def scenario():
        client = await TrackingClient.open(target.url())
        await client.track("ZX-9999")
        frames = await client.wait_for_count(1)
        await client.close()
        return frames

    (frame,) = run(scenario())
    assert frame["type"] == "error" and frame["code"] == "order_not_found"
    assert frame["orderId"] == "ZX-9999" and frame["status"] == "error" and frame["label"]


def test_garbage_and_unknown_types_get_errors_and_the_connection_stays_open(target):
    async def scenario():
        client = await TrackingClient.open(target.url())
        for frame in ("not json", "[1, 2]", '{"type":"track_order"}', '{"type":"track_order","orderId":' + '"x"' * 3000 + "}"):
            await client.send(frame)
            await client.wait_for_count(len(client.frames) + 1, timeout=10)
        await client.send({"type": "teleport", "orderId": "ZX-1001"})
        await client.wait_for_count(5, timeout=10)
        await client.send({"type": "ping"})
        frames = await client.wait_for_count(6, timeout=10)
        open_after = not client.closed
        await client.close()
        return frames, open_after

    frames, open_after = run(scenario())
    assert [f.get("code") for f in frames[:4]] == ["bad_request"] * 4
    assert frames[4]["code"] == "unknown_type"
    assert frames[5]["type"] == "pong" and frames[5]["at"].endswith("Z")
    assert open_after


def _management(local_mode, method: str, connection_id: str, data: bytes | None = None) -> tuple[int, bytes]:
    """A call of the management API as a user's own tool makes it: boto3 with local mode's credentials."""
    client = local_client(f"{local_mode.management_url}/dev", "apigatewaymanagementapi")
    call = {"GET": client.get_connection, "POST": client.post_to_connection, "DELETE": client.delete_connection}[method]
    try:
        response = call(ConnectionId=connection_id, **({"Data": data} if data is not None else {}))
    except ClientError as error:
        return error.response["ResponseMetadata"]["HTTPStatusCode"], json.dumps(error.response["Error"]).encode()
    metadata = response.pop("ResponseMetadata")
    return metadata["HTTPStatusCode"], json.dumps(response, default=str).encode()


def _connection_ids(local_mode) -> list[str]:
    return [line.split()[2] for line in local_mode.lines if " CONNECT " in line]


def test_management_api_get_post_delete_and_410_after_close(local_mode):
    async def scenario():
        known = set(_connection_ids(local_mode))
        client = await TrackingClient.open(local_mode.ws_url)
        await asyncio.sleep(0.2)
        (connection_id,) = [c for c in _connection_ids(local_mode) if c not in known]
        status, body = await asyncio.to_thread(_management, local_mode, "GET", connection_id)
        assert status == 200 and "ConnectedAt" in json.loads(body)
        status, _ = await asyncio.to_thread(_management, local_mode, "POST", connection_id, b'{"type":"hello"}')
        assert status == 200
        assert (await client.wait_for_count(1))[0] == {"type": "hello"}
        status, _ = await asyncio.to_thread(_management, local_mode, "DELETE", connection_id)
        assert status == 204
        await client.wait_for(lambda f: False, timeout=3)
        assert client.closed
        status, _ = await asyncio.to_thread(_management, local_mode, "POST", connection_id, b"{}")
        return status

    assert run(scenario()) == 410


def test_messages_over_128_kb_close_the_connection(local_mode):
    async def scenario():
        connection = await websockets.connect(local_mode.ws_url, max_size=None)
        await connection.send("x" * (128 * 1024 + 1))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(connection.recv(), 10)
        return closed.value.rcvd.code if closed.value.rcvd else None

    assert run(scenario()) == 1009


def test_hundred_concurrent_clients_each_get_exactly_their_own_order(local_mode):
    orders = sorted(SEED)

    async def one(i: int):
        order_id = orders[i % len(orders)]
        client = await TrackingClient.open(local_mode.ws_url)
        await client.track(order_id)
        frames = await client.wait_for(lambda f: len(events(f)) >= len(SEED[order_id]), timeout=60)
        await asyncio.sleep(0.5)  # anything extra would show up now
        await client.close()
        return order_id, frames

    async def scenario():
        return await asyncio.gather(*(one(i) for i in range(100)))

    results = run(scenario())
    for order_id, frames in results:
        got = events(frames)
        assert [(f["type"], f["label"], f["status"]) for f in got] == SEED[order_id]
        assert {f["orderId"] for f in got} == {order_id}
        assert [f["seq"] for f in got] == list(range(1, len(got) + 1))
    assert len({events(frames)[0]["trackingId"] for _, frames in results}) == 100


def test_what_local_mode_does_not_emulate_is_said_once_at_start(local_mode):
    notices = [line for line in local_mode.lines if "not emulated" in line]
    assert len(notices) == 1
    for left_out in ("CloudFront", "CloudWatch::Dashboard", "S3", "SNS::TopicPolicy"):
        assert left_out in notices[0]
    # CloudWatch's alarms and SNS's topics are emulated (local/aws/cloudwatch.py): only what is left of them is named.
    names = notices[0].split(": ", 1)[1].split("; ", 1)[0].split(", ")
    assert "CloudWatch" not in names and "SNS" not in names and "CloudWatch::Alarm" not in names
    assert "alarms are evaluated every 10 s" in notices[0]
    for emulated in ("DynamoDB", "StepFunctions", "ApiGatewayV2", "SecretsManager", "IAM"):
        assert emulated not in notices[0]
    (iam,) = [line for line in local_mode.lines if "IAM enforced" in line]
    assert "'local'" in iam  # the credentials a user's own tools sign with
    assert "SQS::QueuePolicy" in notices[0] and "Lambda::LayerVersion" in notices[0]  # the rest of SQS, Lambda is run
    assert "Lambda::Permission" not in notices[0]  # checked when API Gateway or EventBridge invokes a function
    for emulated in ("Events", "EventInvokeConfig"):
        assert emulated not in notices[0]
