"""Where a refused publish goes: a record on the publish-failures queue (SQS), with why, so that the
backend's operators can see what was not stored. Lambda puts a publish that failed for good (its
retries exhausted) on the same queue, in its own on-failure record (docs/publishing.md)."""

from __future__ import annotations

import json
from typing import Any

from order_tracking.aws import clients
from order_tracking.wire.publish import PublishRefused

MAX_DETAIL_CHARS = 64 * 1024  # an event may be 256 KB; the record stays well inside an SQS message


def record(queue_url: str, event: dict[str, Any], refused: PublishRefused) -> None:
    """Put a record of the refused publish `event` on the queue at `queue_url`."""
    detail: Any = event.get("detail")
    text = json.dumps(detail, ensure_ascii=False, default=str)
    if len(text) > MAX_DETAIL_CHARS:
        detail = {"truncated": text[:MAX_DETAIL_CHARS]}
    body = {
        "refused": {"reason": refused.reason.value, "detail": refused.detail},
        "event": {key: event.get(key) for key in ("id", "source", "detail-type", "time")} | {"detail": detail},
    }
    clients.sqs().send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps(body, ensure_ascii=False, default=str),
        MessageAttributes={"reason": {"DataType": "String", "StringValue": refused.reason.value}},
    )
