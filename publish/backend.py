"""A shop's backend, as `make publish`, the tests and the benchmarks play it: publishes order status
changes on the stack's EventBridge bus. Publishing is asynchronous (PutEvents answers before the
publish function runs): where it can read the stack's orders table and publish-failures queue (local
mode's, or a deployed stack's with credentials that may), it also learns what became of a publish."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, NamedTuple

from local.aws.services import local_client
from local.template.names import queue_url
from local.template.stack import SynthesizedStack
from local.template.synth import ROOT

sys.path.insert(0, str(ROOT / "lambdas"))
from order_tracking.wire.publish import DETAIL_TYPE  # noqa: E402

SOURCE = "shop.backend"
REFUSAL_PEEK_SECONDS = 2


class Outcome(NamedTuple):
    """What the stack did with a publish: "stored" (as event `seq`), "refused" (`reason`: why, in the
    code the publish-failures queue gives, and `detail`), or "unknown" (not seen in time, or the stack
    could not be read)."""

    kind: str
    seq: int = 0
    reason: str = ""
    detail: str = ""


class Backend:
    def __init__(
        self,
        events: Any,
        bus: str,
        dynamodb: Any | None = None,
        orders_table: str | None = None,
        source: str = SOURCE,
        *,
        sqs: Any | None = None,
        failures_queue: str | None = None,
    ) -> None:
        """`dynamodb` and `orders_table`: where `stored` looks; `sqs` and `failures_queue`: where refusals are."""
        self.events = events
        self.bus = bus
        self.source = source
        self._dynamodb = dynamodb
        self._orders = orders_table
        self._sqs = sqs
        self._failures = failures_queue
        self.publishes = 0

    @classmethod
    def of_local_mode(cls, aws_url: str, stack: SynthesizedStack, source: str = SOURCE) -> Backend:
        """Local mode's bus, signed as its administrator; `stored` and `outcome` read its tables and queue."""
        (bus,) = stack.event_buses()
        (orders,) = [t.name for t in stack.tables() if t.name.startswith("TablesOrders")]
        (failures,) = [name for name in stack.queues() if name.startswith("PublishingPublishFailures")]
        return cls(
            local_client(aws_url, "events"),
            bus,
            local_client(aws_url, "dynamodb"),
            orders,
            source,
            sqs=local_client(aws_url, "sqs"),
            failures_queue=queue_url(failures),
        )

    @classmethod
    def of_deployed_stack(cls, stack_name: str, source: str = SOURCE) -> Backend:
        """A deployed stack's bus (its EventBusName output), with your AWS credentials; its orders table
        and publish-failures queue too, where its outputs name them."""
        import boto3

        outputs = {
            o["OutputKey"]: o["OutputValue"]
            for o in boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0].get("Outputs", [])
        }
        bus = outputs.get("EventBusName")
        if bus is None:
            raise LookupError(f"{stack_name} has no EventBusName output: deploy the stack of this version first")
        orders, failures = outputs.get("OrdersTableName"), outputs.get("PublishFailuresQueueUrl")
        return cls(
            boto3.client("events"),
            bus,
            boto3.client("dynamodb") if orders else None,
            orders,
            source,
            sqs=boto3.client("sqs") if failures else None,
            failures_queue=failures,
        )

    def put(self, detail: Any) -> dict[str, Any]:
        """PutEvents of one publish, as a backend does: EventBridge's answer for its entry."""
        entry = {"EventBusName": self.bus, "Source": self.source, "DetailType": DETAIL_TYPE, "Detail": json.dumps(detail)}
        (answer,) = self.events.put_events(Entries=[entry])["Entries"]
        self.publishes += 1
        return dict(answer)

    def publish(self, detail: Any) -> str:
        """PutEvents, which EventBridge must accept; returns its event id."""
        answer = self.put(detail)
        assert "EventId" in answer, answer
        return str(answer["EventId"])

    def publish_stored(self, detail: dict[str, str], timeout: float = 15.0) -> None:
        """Publish, and return once the stack has stored the event (found by its idempotency key)."""
        self.publish(detail)
        deadline = time.monotonic() + timeout
        while not self.stored(detail["orderId"], detail["idempotencyKey"]):
            assert time.monotonic() < deadline, f"{detail['orderId']} {detail['idempotencyKey']} was not stored"
            time.sleep(0.05)

    @property
    def sees_the_store(self) -> bool:
        """Whether `stored` can tell (local mode's tables; not a deployed stack's)."""
        return self._dynamodb is not None

    def stored(self, order_id: str, key: str) -> bool:
        return self._stored_seq(order_id, key) is not None

    def _stored_seq(self, order_id: str, key: str) -> int | None:
        assert self._dynamodb is not None, "a Backend made with of_local_mode can tell"
        item = self._dynamodb.get_item(
            TableName=self._orders, Key={"orderId": {"S": order_id}}, ConsistentRead=True, ProjectionExpression="events"
        ).get("Item", {})
        keys = [event.get("M", {}).get("key", {}).get("S") for event in item.get("events", {}).get("L", [])]
        return keys.index(key) + 1 if key in keys else None

    def outcome(self, detail: dict[str, str], timeout: float = 10.0) -> Outcome:
        """What the stack did with the publish `detail` (its idempotency key): stored, refused, or, after
        `timeout` or when the stack cannot be read with these credentials, unknown."""
        if self._dynamodb is None:
            return Outcome("unknown")
        deadline = time.monotonic() + timeout
        try:
            while True:
                seq = self._stored_seq(detail["orderId"], detail["idempotencyKey"])
                if seq is not None:
                    return Outcome("stored", seq)
                refused = self._refusal(detail["idempotencyKey"]) if timeout else None
                if refused is not None:
                    return refused
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.1)
        except Exception as error:  # e.g. credentials that may publish but not read the stack
            return Outcome("unknown", detail=f"{type(error).__name__}: {error}")
        return Outcome("unknown", detail=f"not stored after {timeout:g} s")

    def _refusal(self, key: str) -> Outcome | None:
        """The publish-failures queue's record of the publish with idempotency key `key`, if there is one.
        Read, not taken: every message read is hidden for REFUSAL_PEEK_SECONDS only, then back on the
        queue for the stack's operators."""
        if self._sqs is None:
            return None
        while batch := self._sqs.receive_message(
            QueueUrl=self._failures, MaxNumberOfMessages=10, VisibilityTimeout=REFUSAL_PEEK_SECONDS
        ).get("Messages", []):
            for message in batch:
                try:
                    record = json.loads(message["Body"])
                    refused, published = record["refused"], record["event"]["detail"]
                except (ValueError, KeyError, TypeError):
                    continue  # another kind of record (Lambda's, EventBridge's)
                if isinstance(published, dict) and published.get("idempotencyKey") == key:
                    return Outcome("refused", reason=str(refused.get("reason")), detail=str(refused.get("detail")))
        return None
