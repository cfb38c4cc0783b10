"""Where a refused publish goes: a record on the publish-failures queue (SQS), with why, so that the
backend's operators can see what was not stored. Lambda puts a publish that failed for good (its
retries exhausted) on the same queue, in its own on-failure record (docs/publishing.md)."""

from __future__ import annotations

import json
from typing import Any

from order_tracking import aws_clients, settings
from order_tracking.publish_request import PublishRefused
from order_tracking.settings import PublishSettings

MAX_DETAIL_CHARS = 64 * 1024  # an event may be 256 KB; the record stays well inside an SQS message


def record(event: dict[str, Any], refused: PublishRefused) -> None:
    detail: Any = event.get("detail")
    text = json.dumps(detail, ensure_ascii=False, default=str)
    if len(text) > MAX_DETAIL_CHARS:
        detail = {"truncated": text[:MAX_DETAIL_CHARS]}
    body = {
        "refused": {"reason": refused.reason.value, "detail": refused.detail},
        "event": {key: event.get(key) for key in ("id", "source", "detail-type", "time")} | {"detail": detail},
    }
    aws_clients.sqs().send_message(
        QueueUrl=settings.load(PublishSettings).failures_queue_url,
        MessageBody=json.dumps(body, ensure_ascii=False, default=str),
        MessageAttributes={"reason": {"DataType": "String", "StringValue": refused.reason.value}},
    )
