"""Local mode's DynamoDB is as atomic as DynamoDB: a conditional write checks and writes in one step,
however many requests race for one item, in moto's own process and in local mode's main process alike.
A guarantee the handlers prove against local mode (one event per idempotency key, seq without gaps,
a cap that holds) then holds on AWS for the reason it holds here."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config

from local.aws.dynamodb_process import DynamoDbProcess
from local.aws.services import FAKE_CREDENTIALS, LocalAws
from local.iam.policies import LocalIam
from tests.support.local_stack import running_stack

RACERS = 200
ROUNDS = 3  # each race is run this many times per test: one lucky interleaving proves little
TABLE = "Race"


def client(endpoint: str, attempts: int = 10):
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(max_pool_connections=RACERS, retries={"mode": "standard", "max_attempts": attempts}),
    )


@pytest.fixture(scope="module", params=["its own process", "the main process"])
def dynamodb(request) -> Iterator:
    """A DynamoDB endpoint of local mode with one table: moto's DynamoDB in its own process (as make
    dev runs it), or in the main process's endpoint (as the cost benchmark runs it)."""
    if request.param == "its own process":
        process = DynamoDbProcess("127.0.0.1", LocalIam({}))
        endpoint, stop = process.endpoint, process.stop
    else:
        aws = LocalAws().start()
        aws.reset()
        endpoint, stop = aws.endpoint, aws.stop
    dynamodb = client(endpoint)
    dynamodb.once = client(endpoint, attempts=1)  # for a test that must see a 500, not botocore's retry of it
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield dynamodb
    stop()


def race(attempt: Callable[[int], bool]) -> int:
    """`attempt(i)` from RACERS threads released at once; how many reported success."""
    start = threading.Barrier(RACERS)

    def run(i: int) -> bool:
        start.wait()
        return attempt(i)

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        return sum(pool.map(run, range(RACERS)))


def conditional(dynamodb, **request) -> bool:
    try:
        dynamodb.update_item(TableName=TABLE, **request)
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    return True


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_conditional_list_appends_capped_at_150_store_exactly_what_succeeded(dynamodb, round_):
    key = {"k": {"S": f"list-{round_}"}}
    dynamodb.put_item(TableName=TABLE, Item={**key, "events": {"L": []}})
    succeeded = race(
        lambda i: conditional(
            dynamodb,
            Key=key,
            UpdateExpression="SET events = list_append(events, :e)",
            ConditionExpression="size(events) < :cap",
            ExpressionAttributeValues={":e": {"L": [{"N": str(i)}]}, ":cap": {"N": "150"}},
        )
    )
    stored = dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]["events"]["L"]
    assert (succeeded, len(stored)) == (150, 150)
    assert len({e["N"] for e in stored}) == 150  # 150 different racers, none written twice


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_conditional_adds_capped_at_100_succeed_exactly_100_times(dynamodb, round_):
    key = {"k": {"S": f"count-{round_}"}}
    dynamodb.put_item(TableName=TABLE, Item={**key, "n": {"N": "0"}})
    succeeded = race(
        lambda _: conditional(
            dynamodb,
            Key=key,
            UpdateExpression="ADD n :one",
            ConditionExpression="n < :cap",
            ExpressionAttributeValues={":one": {"N": "1"}, ":cap": {"N": "100"}},
        )
    )
    stored = int(dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]["n"]["N"])
    assert (succeeded, stored) == (100, 100)


def test_concurrent_scans_and_writes_never_fail(dynamodb):
    """moto iterated a table's items while another request added one: "dictionary changed size during
    iteration", a 500 for the Scan."""
    failures: list[str] = []

    def attempt(i: int) -> bool:
        try:
            if i % 2:
                dynamodb.once.put_item(TableName=TABLE, Item={"k": {"S": f"scan-{i}"}})
            else:
                dynamodb.once.scan(TableName=TABLE)
        except Exception as error:
            failures.append(f"{type(error).__name__}: {error}")
        return True

    race(attempt)
    assert failures == []


# A live order that many backends publish to at once ----------------------------------------------


ALREADY_STORED = 180  # the order holds this many events when the race starts: its last 20 places are raced for
PUBLISHERS = 40


@pytest.fixture
def publish_environment(stack, monkeypatch):
    """The publish path's own code in this process, against local mode's DynamoDB process."""
    from order_tracking.aws import clients as aws_clients
    from order_tracking.runtime import settings

    with running_stack(stack, dynamodb_process=True) as system:
        publish = next(f for f in stack.functions().values() if f.handler == "handlers.publish.handler")
        environment = system.runtime.environment_of(publish)
        for name in ("ORDERS_TABLE", "WATCHERS_TABLE", "RETENTION_SECONDS", "CONNECTIONS_ENDPOINT", "AWS_ENDPOINT_URL_DYNAMODB"):
            monkeypatch.setenv(name, environment[name])
        for name, value in FAKE_CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        aws_clients.reset()
        settings.reset()
        yield system
        aws_clients.reset()
        settings.reset()


def test_concurrent_publishes_of_one_order_store_one_event_per_key_seq_without_gaps_and_the_cap(publish_environment):
    from order_tracking import wiring
    from order_tracking.delivery.lease import LeaseHeld
    from order_tracking.live.streams import MAX_EVENTS
    from order_tracking.wire.publish import PublishRefused, PublishRequest, Refusal

    order_id = "LV-RACE"

    def request(i: int) -> PublishRequest:
        return PublishRequest(order_id, "racer", "order_sent", f"Event {i}", "active", f"key-{i}")

    wiring.publisher().publish(request(0))
    orders = publish_environment.aws.client("dynamodb")
    table = next(t.name for t in publish_environment.stack.tables() if t.name.startswith("TablesOrders"))
    first = orders.get_item(TableName=table, Key={"orderId": {"S": order_id}}, ConsistentRead=True)["Item"]["events"]["L"][0]
    orders.update_item(  # as if it had been published to ALREADY_STORED times, one after the other
        TableName=table,
        Key={"orderId": {"S": order_id}},
        UpdateExpression="SET events = :events, idempotencyKeys = :keys, fannedOutSeq = :n",
        ExpressionAttributeValues={
            ":events": {"L": [{"M": {**first["M"], "key": {"S": f"key-{i}"}}} for i in range(ALREADY_STORED)]},
            ":keys": {"SS": [f"key-{i}" for i in range(ALREADY_STORED)]},
            ":n": {"N": str(ALREADY_STORED)},
        },
    )
    start = threading.Barrier(PUBLISHERS)

    def publish(i: int) -> str:
        start.wait()
        while True:  # as Lambda retries an invocation that failed (here: it waited too long for the lease)
            try:
                outcome, _, _ = wiring.publisher().publish(request(i))
            except PublishRefused as refused:
                return refused.reason.value
            except LeaseHeld:
                continue
            return outcome.value

    with ThreadPoolExecutor(max_workers=PUBLISHERS) as pool:
        outcomes = list(pool.map(publish, range(ALREADY_STORED, ALREADY_STORED + PUBLISHERS)))
    order = wiring.streams().read(order_id)
    assert order is not None
    keys = [event["key"] for event in order.events]
    assert outcomes.count("delivered") == MAX_EVENTS - ALREADY_STORED
    assert outcomes.count(Refusal.EVENT_LIMIT.value) == ALREADY_STORED + PUBLISHERS - MAX_EVENTS
    assert len(keys) == MAX_EVENTS and len(set(keys)) == MAX_EVENTS  # one event per key, the cap held
    stored_keys = orders.get_item(TableName=table, Key={"orderId": {"S": order_id}}, ConsistentRead=True)["Item"][
        "idempotencyKeys"
    ]["SS"]
    assert sorted(stored_keys) == sorted(keys)  # no key stored without its event
    frames = [order.frame(seq, "watch") for seq in range(1, order.last_seq + 1)]
    assert [f["seq"] for f in frames] == list(range(1, MAX_EVENTS + 1))
    assert len({f["eventId"] for f in frames}) == MAX_EVENTS
    assert order.fanned_out_seq == MAX_EVENTS  # every fan-out finished, in turn
