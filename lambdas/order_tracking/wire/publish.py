"""What a backend publishes (docs/publishing.md): one order status change, as the `detail` of an
EventBridge event, and the parse that turns it into a PublishRequest or a refusal naming every field
that is wrong. Nothing of a refused publish is stored or sent.

    {"orderId": "LV-2001", "customerId": "demo", "type": "order_sent", "label": "Shipped",
     "status": "active", "idempotencyKey": "LV-2001/shipped"}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from order_tracking.wire.frames import ORDER_ID_PATTERN, STATUSES, TYPE_PATTERN

# The detail-type of a publish on the stack's bus; its rule sends only these to the publish function.
DETAIL_TYPE = "Order Status Changed"
# Frame types of the protocol's own that an order event must not take.
RESERVED_TYPES = frozenset({"error", "pong"})
CUSTOMER_ID_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]{1,128}$"  # what a token's `sub` may be
LABEL_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]{1,200}$"  # shown to people: no control characters, C0 or C1
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,128}$"  # printable ASCII, no spaces
FIELDS = ("orderId", "customerId", "type", "label", "status", "idempotencyKey")


class Refusal(StrEnum):
    """Why a publish was refused (the `reason` of its record on the publish-failures queue)."""

    BAD_REQUEST = "bad_request"  # a field is missing, unknown or malformed
    NOT_LIVE = "not_live"  # the order is a simulated (seed) order
    NOT_OWNER = "not_owner"  # the live order belongs to another customer
    EVENT_LIMIT = "event_limit"  # the order holds as many events as one order may


class PublishRefused(Exception):
    def __init__(self, reason: Refusal, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class PublishRequest:
    order_id: str
    customer_id: str
    type: str
    label: str
    status: str
    idempotency_key: str

    @property
    def event(self) -> dict[str, str]:
        """The order event as frames carry it."""
        return {"type": self.type, "label": self.label, "status": self.status}


def _matches(value: Any, pattern: str) -> bool:
    return isinstance(value, str) and re.fullmatch(pattern, value) is not None


def parse_publish(detail: Any) -> PublishRequest:
    """The publish in an event's `detail`, or PublishRefused(bad_request) naming what is wrong."""
    if not isinstance(detail, dict):
        raise PublishRefused(Refusal.BAD_REQUEST, "detail must be a JSON object")
    checks = {
        "orderId": _matches(detail.get("orderId"), ORDER_ID_PATTERN),
        "customerId": _matches(detail.get("customerId"), CUSTOMER_ID_PATTERN),
        "type": _matches(detail.get("type"), TYPE_PATTERN) and detail.get("type") not in RESERVED_TYPES,
        "label": _matches(detail.get("label"), LABEL_PATTERN),
        "status": isinstance(detail.get("status"), str) and detail["status"] in STATUSES,
        "idempotencyKey": _matches(detail.get("idempotencyKey"), IDEMPOTENCY_KEY_PATTERN),
    }
    problems = []
    invalid = [name for name, valid in checks.items() if not valid]
    if invalid:
        problems.append(f"invalid field(s): {', '.join(invalid)}")
    unknown = sorted(str(name)[:40] for name in detail if name not in FIELDS)
    if unknown:
        problems.append(f"unknown field(s): {', '.join(unknown[:10])}")
    if problems:
        raise PublishRefused(Refusal.BAD_REQUEST, "; ".join(problems))
    return PublishRequest(
        order_id=detail["orderId"],
        customer_id=detail["customerId"],
        type=detail["type"],
        label=detail["label"],
        status=detail["status"],
        idempotency_key=detail["idempotencyKey"],
    )
