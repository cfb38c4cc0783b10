"""The checks that need more than the endpoint: the stack's own credentials (its tables, bus, queue,
management API and alarms: a deployed stack's with `--stack`, or local mode's AWS endpoint), tokens
of customers of their own (the signing key), or the hosted client. A target without them skips them,
saying why."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from publish.statuses import status_change
from smoke.results import Options, Result, skip, verdict
from smoke.session import OPEN_TIMEOUT, Session, answered_since, at_least_events, events, sequence_problems
from smoke.target import Target

SOURCE = "order-tracking.smoke"
DETAIL_TYPE = "Order Status Changed"  # lambdas/order_tracking/wire/publish.py's, which the stack's rule matches
CLEANUP_SECONDS = 10
LIVE_EVENT_SECONDS = 10  # from a publish to its event at a watcher: EventBridge, a cold publish function, the fan-out
LIVE_TYPES = ["order_created", "order_processing", "order_sent"]


def _needs(target: Target, name: str, *, stack: bool = False, mints: bool = False) -> Result | None:
    if stack and target.stack is None:
        return skip(name, "needs the stack's own credentials (--stack, or a running make dev)")
    if mints and not target.mints:
        return skip(name, "needs the stack's signing key, for customers of its own (--url with --token has one token)")
    return None


async def disconnect(target: Target, options: Options) -> list[Result]:
    """After a close, the connection is gone: @connections answers 410 for it, and the connections
    table has no item for it within 10 s."""
    skipped = _needs(target, "disconnect", stack=True, mints=True)
    if skipped:
        return [skipped]
    assert target.stack is not None
    stack = target.stack
    started = time.monotonic()
    customer = f"smoke-{uuid.uuid4().hex[:12]}"
    dynamodb = stack.client("dynamodb")

    def connection_ids() -> list[str]:
        found = dynamodb.query(
            TableName=stack.connections_table,
            IndexName="byCustomer",
            KeyConditionExpression="customerId = :c",
            ExpressionAttributeValues={":c": {"S": customer}},
        )
        return [item["connectionId"]["S"] for item in found.get("Items", [])]

    session = await Session.open(target.url(customer))
    deadline = time.monotonic() + CLEANUP_SECONDS
    ids: list[str] = []
    while not ids and time.monotonic() < deadline:
        ids = await asyncio.to_thread(connection_ids)
        await asyncio.sleep(0.2)
    await session.close()
    if len(ids) != 1:
        return [verdict("disconnect", started, [f"{len(ids)} connections stored for a customer with one open"], "")]
    (connection_id,) = ids
    management = stack.management_client()

    def gone() -> tuple[bool, bool]:
        try:
            management.get_connection(ConnectionId=connection_id)
            answered_gone = False
        except ClientError as error:
            answered_gone = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 410
        item = dynamodb.get_item(
            TableName=stack.connections_table, Key={"connectionId": {"S": connection_id}}, ConsistentRead=True
        )
        return answered_gone, "Item" not in item

    answered_gone, removed = False, False
    deadline = time.monotonic() + CLEANUP_SECONDS
    while not (answered_gone and removed) and time.monotonic() < deadline:
        answered_gone, removed = await asyncio.to_thread(gone)
        await asyncio.sleep(0.2)
    problems = [] if answered_gone else [f"@connections still knows {connection_id} {CLEANUP_SECONDS} s after the close"]
    if not removed:
        problems.append(f"the connections table still holds {connection_id} {CLEANUP_SECONDS} s after the close")
    return [verdict("disconnect", started, problems, "410 from @connections, and its item removed")]


async def live_orders(target: Target, options: Options) -> list[Result]:
    """A fresh live order published as a shop's backend would: two watchers get each event once, in
    order (`live-order`); a repeated idempotency key delivers nothing new; another customer's watch is
    refused with order_not_found (`foreign-live-order`); a publish naming another customer is refused
    and lands on the publish-failures queue (the smoke's own message is read and deleted)."""
    skipped = _needs(target, "live-order", stack=True, mints=True)
    if skipped:
        return [skipped, skip("foreign-live-order", skipped.detail)]
    stack = target.stack
    assert stack is not None
    started = time.monotonic()
    run = uuid.uuid4().hex[:10]
    order_id, owner, other = f"LV-SMOKE-{run}", f"smoke-owner-{run}", f"smoke-other-{run}"
    events_client = stack.client("events")

    def publish(type_: str, key: str, customer: str = owner) -> None:
        detail = status_change(order_id, type_, customer=customer, key=key)
        entry = {"EventBusName": stack.event_bus, "Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": json.dumps(detail)}
        (answer,) = events_client.put_events(Entries=[entry])["Entries"]
        if "EventId" not in answer:
            raise RuntimeError(f"EventBridge refused the publish: {answer}")

    async def watch(watcher: Session) -> None:
        """Track the order until it exists: its first publish is stored asynchronously (order_not_found until then)."""
        deadline = time.monotonic() + CLEANUP_SECONDS
        while time.monotonic() < deadline:
            sent = await watcher.send({"type": "track_order", "orderId": order_id})
            await watcher.until(answered_since(sent), OPEN_TIMEOUT)
            if events(watcher.arrivals, sent):
                return
            await asyncio.sleep(0.3)

    await asyncio.to_thread(publish, LIVE_TYPES[0], f"{order_id}/1")
    watchers = [await Session.open(target.url(owner)) for _ in range(2)]
    intruder = await Session.open(target.url(other))
    try:
        await asyncio.gather(*(watch(watcher) for watcher in watchers))
        for seq, type_ in enumerate(LIVE_TYPES[1:], start=2):
            await asyncio.to_thread(publish, type_, f"{order_id}/{seq}")
            await asyncio.gather(*(watcher.until(at_least_events(seq), LIVE_EVENT_SECONDS) for watcher in watchers))
        await asyncio.to_thread(publish, LIVE_TYPES[-1], f"{order_id}/{len(LIVE_TYPES)}")  # the same key again
        sent = await intruder.send({"type": "track_order", "orderId": order_id})
        await intruder.until(lambda a: any(x.frame.get("type") == "error" for x in a), OPEN_TIMEOUT)
        await asyncio.sleep(options.slack)  # a repeated delivery would come now
        for watcher in [*watchers, intruder]:
            await watcher.listen(0.1)
    finally:
        for session in [*watchers, intruder]:
            await session.close()
    problems = []
    for index, watcher in enumerate(watchers, start=1):
        got = [a for a in events(watcher.arrivals) if a.frame.get("orderId") == order_id]
        problems += [f"watcher {index}: {p}" for p in sequence_problems(events(watcher.arrivals), order_id, None)]
        if len(got) != len(LIVE_TYPES):
            problems.append(f"watcher {index} got {len(got)} events, {len(LIVE_TYPES)} published")
    refusal = [a.frame for a in intruder.arrivals if a.at >= sent]
    foreign_problems = (
        []
        if refusal and refusal[0].get("code") == "order_not_found" and not events(intruder.arrivals)
        else [f"another customer's watch got {refusal[:2]}"]
    )
    queue_problems = await asyncio.to_thread(_refused_publish_lands_on_the_queue, target, publish, order_id, other)
    return [
        verdict(
            "live-order",
            started,
            problems + queue_problems,
            f"{len(LIVE_TYPES)} events to two watchers, once each, in order; "
            "a repeated key and another customer's publish changed nothing",
        ),
        verdict("foreign-live-order", started, foreign_problems, "order_not_found for another customer"),
    ]


def _refused_publish_lands_on_the_queue(target: Target, publish: Any, order_id: str, other: str) -> list[str]:
    """Publish naming another customer for the order: it must be refused (not_owner) onto the
    publish-failures queue. Read the queue for our record, delete it, leave everyone else's."""
    assert target.stack is not None
    key = f"{order_id}/intruder"
    publish(LIVE_TYPES[1], key, customer=other)
    sqs = target.stack.client("sqs")
    deadline = time.monotonic() + CLEANUP_SECONDS
    while time.monotonic() < deadline:
        # VisibilityTimeout 0: reading hides no one else's record from its reader (an operator, another smoke run).
        batch = sqs.receive_message(
            QueueUrl=target.stack.failures_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=1
        ).get("Messages", [])
        for message in batch:
            try:
                record = json.loads(message["Body"])
                mine = record["event"]["detail"]["idempotencyKey"] == key
            except (ValueError, KeyError, TypeError):
                mine = False
            if mine:
                sqs.delete_message(QueueUrl=target.stack.failures_queue_url, ReceiptHandle=message["ReceiptHandle"])
                reason = record.get("refused", {}).get("reason")
                return [] if reason == "not_owner" else [f"another customer's publish was recorded as {reason}, not not_owner"]
        time.sleep(0.3)
    return [f"another customer's publish is not on the publish-failures queue after {CLEANUP_SECONDS} s"]


async def hosted_client(target: Target, options: Options) -> list[Result]:
    """The hosted client answers 200 with a Content-Security-Policy whose connect-src allows the
    WebSocket endpoint, and its config.json names that endpoint."""
    if target.client_url is None:
        return [skip("hosted-client", "no client URL (--stack reads ClientUrl; make dev's is found)")]
    started = time.monotonic()
    endpoint = target.hosted_ws_url or target.ws_url
    page, config = await asyncio.gather(
        asyncio.to_thread(_get, target.client_url), asyncio.to_thread(_get, target.client_url.rstrip("/") + "/config.json")
    )
    problems = []
    if page[0] != 200:
        problems.append(f"the page answered {page[0]}")
    policy = page[1].get("content-security-policy", "")
    sources = next((d.split()[1:] for d in policy.split(";") if d.strip().startswith("connect-src")), [])
    origin = f"{urlsplit(endpoint).scheme}://{urlsplit(endpoint).netloc}"
    if not any(source.rstrip("/") in (origin, endpoint.rstrip("/")) for source in sources):
        problems.append(f"connect-src {sources} does not allow {origin}")
    try:
        named = json.loads(config[2]).get("wsUrl") if config[0] == 200 else None
    except ValueError:
        named = None
    if str(named).rstrip("/") != endpoint.rstrip("/"):
        problems.append(f"config.json names {named!r}, not {endpoint}")
    return [verdict("hosted-client", started, problems, f"200, connect-src allows {origin}, config.json names it")]


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    """(status, headers by lower-case name: CloudFront sends them lower-case, others capitalized, body)."""
    try:
        with urllib.request.urlopen(url, timeout=OPEN_TIMEOUT) as answer:  # noqa: S310 - the stack's own https URL
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


async def no_alarm(target: Target, options: Options) -> list[Result]:
    """After the run, every alarm of the stack is OK or INSUFFICIENT_DATA: the check set off none."""
    skipped = _needs(target, "no-alarm", stack=True)
    if skipped:
        return [skipped]
    assert target.stack is not None
    started = time.monotonic()
    names = await asyncio.to_thread(target.stack.alarm_names)
    cloudwatch = target.stack.client("cloudwatch")
    states: dict[str, str] = {}
    for first in range(0, len(names), 100):
        found = await asyncio.to_thread(cloudwatch.describe_alarms, AlarmNames=names[first : first + 100])
        states.update({a["AlarmName"]: a["StateValue"] for a in found["MetricAlarms"]})
    firing = sorted(name for name, state in states.items() if state == "ALARM")
    problems = [f"in ALARM: {', '.join(firing)}"] if firing else []
    if len(states) != len(names):
        problems.append(f"{len(names) - len(states)} of the stack's alarms not found")
    return [verdict("no-alarm", started, problems, f"{len(states)} alarms, none in ALARM")]
