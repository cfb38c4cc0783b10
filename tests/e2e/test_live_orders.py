"""Live orders end to end in local mode: a backend publishes on the stack's EventBridge bus (boto3, or
`make publish`), the rule runs the publish function, and watchers get the events over real
WebSockets with the protocol's fields, once each, in seq order."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid

import pytest

from local.aws.services import local_client
from publish.backend import Backend
from publish.statuses import status_change
from tests.support.aio import run
from tests.support.make import make
from tests.support.ws_client import TrackingClient


@pytest.fixture(scope="module")
def backend(deployed_stack, request, stack) -> Backend:
    """Publishes as a backend does: PutEvents on the stack's bus (local mode's administrator signs;
    with --stack, your credentials on the deployed stack's bus)."""
    if deployed_stack:
        return Backend.of_deployed_stack(deployed_stack)
    return Backend.of_local_mode(request.getfixturevalue("local_mode").aws_url, stack)


@pytest.fixture(scope="module")
def publisher(backend):
    return backend.publish


def first_event(backend: Backend, order_id: str) -> None:
    """Create a live order (its first event), and wait until the stack has it."""
    if not backend.sees_the_store:  # a deployed stack: nothing to read, give EventBridge its time
        backend.publish(status_change(order_id, "order_created"))
        time.sleep(2)
    else:
        backend.publish_stored(status_change(order_id, "order_created"))


def new_order() -> str:
    return f"LV-{uuid.uuid4().hex[:8].upper()}"


def order_events(frames: list[dict]) -> list[dict]:
    return [f for f in frames if "seq" in f]


async def watcher(target, order_id: str, customer: str = "demo", **extra) -> TrackingClient:
    client = await TrackingClient.open(target.url(customer))
    await client.track(order_id, **extra)
    return client


async def settle(*clients: TrackingClient, count: int, timeout: float = 15) -> None:
    await asyncio.gather(*(c.wait_for(lambda f: len(order_events(f)) >= count, timeout) for c in clients))


def test_a_publish_is_delivered_to_three_watchers(target, publisher, backend):
    order_id = new_order()
    first_event(backend, order_id)

    async def scenario():
        tabs = [await watcher(target, order_id) for _ in range(3)]
        await settle(*tabs, count=1)
        published = time.monotonic()
        publisher(status_change(order_id, "order_sent"))
        await settle(*tabs, count=2)
        latency = max(c.arrivals[-1] for c in tabs) - published
        for tab in tabs:
            await tab.close()
        return tabs, latency

    tabs, latency = run(scenario())
    for tab in tabs:
        frames = order_events(tab.frames)
        assert [(f["seq"], f["type"], f["label"], f["status"]) for f in frames] == [
            (1, "order_created", "Order received", "pending"),
            (2, "order_sent", "Shipped", "active"),
        ]
        assert {f["orderId"] for f in frames} == {order_id} and len({f["trackingId"] for f in frames}) == 1
        assert [f["eventId"] for f in frames] == [f"{frames[0]['trackingId']}#1", f"{frames[0]['trackingId']}#2"]
    assert len({order_events(t.frames)[0]["trackingId"] for t in tabs}) == 3  # each tab its own watch
    assert latency < 5, latency


def test_a_watcher_that_was_offline_resumes_and_gets_exactly_what_it_missed(target, publisher, backend):
    order_id = new_order()
    first_event(backend, order_id)

    async def scenario():
        first = await watcher(target, order_id)
        await settle(first, count=1)
        await first.close()
        (seen,) = order_events(first.frames)
        for kind in ("order_processing", "order_sent"):
            publisher(status_change(order_id, kind))
        await asyncio.sleep(1.5)
        again = await watcher(target, order_id, resume={"trackingId": seen["trackingId"], "afterSeq": 1})
        await settle(again, count=2)
        publisher(status_change(order_id, "order_delivered"))
        await settle(again, count=3)
        await asyncio.sleep(0.5)
        await again.close()
        return seen, order_events(again.frames)

    seen, resumed = run(scenario())
    assert [(f["seq"], f["type"]) for f in resumed] == [(2, "order_processing"), (3, "order_sent"), (4, "order_delivered")]
    assert {f["trackingId"] for f in resumed} == {seen["trackingId"]}


def test_a_duplicate_publish_yields_one_event(target, publisher, backend):
    order_id = new_order()
    first_event(backend, order_id)

    async def scenario():
        client = await watcher(target, order_id)
        await settle(client, count=1)
        for _ in range(3):  # a backend retrying: same idempotency key
            publisher(status_change(order_id, "order_sent", key=f"{order_id}/shipment"))
        await settle(client, count=2)
        await asyncio.sleep(2)
        await client.close()
        return order_events(client.frames)

    frames = run(scenario())
    assert [f["seq"] for f in frames] == [1, 2]


def test_a_bad_publish_is_refused_stores_nothing_and_says_why(local_mode, target, publisher, stack):
    order_id = new_order()
    publisher({**status_change(order_id, "order_created"), "status": "received"})
    sqs = local_client(local_mode.aws_url, "sqs")
    (queue,) = [q for q in stack.queues() if q.startswith("PublishingPublishFailures")]
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    records = []
    deadline = time.monotonic() + 15
    while not records and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", [])
        records = [json.loads(m["Body"]) for m in messages]
        records = [r for r in records if r.get("event", {}).get("detail", {}).get("orderId") == order_id]
    (record,) = records
    assert record["refused"] == {"reason": "bad_request", "detail": "invalid field(s): status"}

    async def track() -> list[dict]:
        client = await watcher(target, order_id)
        frames = await client.wait_for(bool, 10)
        await client.close()
        return frames

    (answer,) = run(track())
    assert (answer["type"], answer["code"], answer["orderId"]) == ("error", "order_not_found", order_id)


def test_another_customer_sees_nothing(target, publisher, backend):
    order_id = new_order()
    first_event(backend, order_id)

    async def scenario():
        owner = await watcher(target, order_id)
        intruder = await watcher(target, order_id, customer="mallory")
        await intruder.wait_for(bool, 10)
        publisher(status_change(order_id, "order_sent"))
        await settle(owner, count=2)
        await asyncio.sleep(1)
        await owner.close()
        await intruder.close()
        return owner.frames, intruder.frames

    owner, intruder = run(scenario())
    assert [f["seq"] for f in order_events(owner)] == [1, 2]
    assert [(f["type"], f.get("code")) for f in intruder] == [("error", "order_not_found")]


def test_switching_away_from_a_live_order_stops_its_frames(target, publisher, backend):
    order_id = new_order()
    first_event(backend, order_id)

    async def scenario():
        client = await watcher(target, order_id)
        await settle(client, count=1)
        await client.track("ZX-1003")
        await client.wait_for(lambda f: any(e.get("orderId") == "ZX-1003" for e in f), 10)
        publisher(status_change(order_id, "order_sent"))
        await asyncio.sleep(2)
        await client.close()
        return order_events(client.frames)

    frames = run(scenario())
    first_new = next(i for i, f in enumerate(frames) if f["orderId"] == "ZX-1003")
    assert all(f["orderId"] == "ZX-1003" for f in frames[first_new:]), frames


def make_publish(*variables: str) -> subprocess.CompletedProcess:
    return make("-s", "publish", *variables, timeout=120)


def test_make_publish_publishes_to_local_mode_and_refuses_what_is_no_publish(local_mode, target):
    order_id = new_order()
    published = make_publish(f"ORDER={order_id}", "TYPE=order_created", f"AWS_URL={local_mode.aws_url}")
    assert published.returncode == 0, published.stdout + published.stderr
    assert f"published {order_id} order_created ('Order received', pending)" in published.stdout

    async def track() -> list[dict]:
        client = await watcher(target, order_id)
        await settle(client, count=1)
        await client.close()
        return order_events(client.frames)

    assert [(f["seq"], f["type"]) for f in run(track())] == [(1, "order_created")]
    refused = make_publish(f"ORDER={order_id}", "TYPE=order_sent", "STATUS=shipped", f"AWS_URL={local_mode.aws_url}")
    assert refused.returncode == 2 and "not published: invalid field(s): status" in refused.stderr
