"""A shop's backend, as `make publish`, the tests and the benchmarks play it: publishes order status
changes on the stack's EventBridge bus. Against local mode it can also wait until the stack has stored
a publish (publishing is asynchronous: PutEvents answers before the publish function runs)."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from local.aws_services import local_client
from local.synth import ROOT
from local.template import SynthesizedStack

sys.path.insert(0, str(ROOT / "lambdas"))
from order_tracking.publish_request import DETAIL_TYPE  # noqa: E402

SOURCE = "shop.backend"


class Backend:
    def __init__(
        self, events: Any, bus: str, dynamodb: Any | None = None, orders_table: str | None = None, source: str = SOURCE
    ) -> None:
        """`dynamodb` and `orders_table`: where `stored` looks (local mode's, read as its administrator)."""
        self.events = events
        self.bus = bus
        self.source = source
        self._dynamodb = dynamodb
        self._orders = orders_table
        self.publishes = 0

    @classmethod
    def of_local_mode(cls, aws_url: str, stack: SynthesizedStack, source: str = SOURCE) -> Backend:
        """Local mode's bus, signed as its administrator; `stored` reads its orders table."""
        (bus,) = stack.event_buses()
        (orders,) = [t.name for t in stack.tables() if t.name.startswith("TablesOrders")]
        return cls(local_client(aws_url, "events"), bus, local_client(aws_url, "dynamodb"), orders, source)

    @classmethod
    def of_deployed_stack(cls, stack_name: str, source: str = SOURCE) -> Backend:
        """A deployed stack's bus (its EventBusName output), with your AWS credentials."""
        import boto3

        outputs = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0].get("Outputs", [])
        bus = next((o["OutputValue"] for o in outputs if o["OutputKey"] == "EventBusName"), None)
        if bus is None:
            raise LookupError(f"{stack_name} has no EventBusName output: deploy the stack of this version first")
        return cls(boto3.client("events"), bus, source=source)

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
        assert self._dynamodb is not None, "a Backend made with of_local_mode can tell"
        item = self._dynamodb.get_item(
            TableName=self._orders, Key={"orderId": {"S": order_id}}, ConsistentRead=True, ProjectionExpression="idempotencyKeys"
        ).get("Item", {})
        return key in item.get("idempotencyKeys", {}).get("SS", [])
