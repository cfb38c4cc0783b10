"""Powertools Logger and Metrics shared by every handler: structured JSON logs with correlation ids,
and custom metrics as CloudWatch Embedded Metric Format (flushed when each handler returns).

The namespace comes from POWERTOOLS_METRICS_NAMESPACE (the stack sets one per stage); the metric
names below are what the stack's dashboard and alarms read (infra/monitoring.py).
"""

from __future__ import annotations

import os
import warnings
from enum import StrEnum

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
# Read when the handler is imported (Lambda has set the environment by then).
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "OrderTracking")


class Metric(StrEnum):
    CONNECTIONS_OPENED = "ConnectionsOpened"
    CONNECTIONS_REFUSED = "ConnectionsRefused"  # over the per-customer cap
    CONNECTIONS_UNAUTHORIZED = "ConnectionsUnauthorized"  # a missing, bad or expired token refused by the authorizer
    TRACKINGS_STARTED = "TrackingsStarted"
    TRACKINGS_RESUMED = "TrackingsResumed"
    EVENTS_REPLAYED = "EventsReplayed"
    EVENTS_EMITTED = "EventsEmitted"  # stored and posted
    CONNECTIONS_GONE = "ConnectionsGone"  # a post answered 410
    EMITS_FENCED = "EmitsFenced"  # an emit of a superseded tracking
    EMITS_REPEATED = "EmitsRepeated"  # a retried emit that found its event already sent
    MANAGEMENT_API_ERRORS = "ManagementApiErrors"  # 5xx from @connections
    EVENTS_PUBLISHED = "EventsPublished"  # a backend's publish stored as a live order's next event
    PUBLISHES_REPEATED = "PublishesRepeated"  # a publish whose idempotency key was stored already
    PUBLISHES_REFUSED = "PublishesRefused"  # a publish refused (bad input, not the owner, ...): nothing stored
    LIVE_EVENTS_SENT = "LiveEventsSent"  # a published event posted to one of its order's watchers
    ERRORS = "Errors"  # a route failed: the client got an `internal` error ($connect: a 500 handshake)
    EMIT_RETRIES = "EmitRetries"  # an emit met a transient fault (throttling, 5xx, out of time): the state machine retries it


def count(metric: Metric, value: int = 1) -> None:
    """Add `value` to `metric` (nothing for 0). Call it on the handler's thread only."""
    if value:
        metrics.add_metric(name=metric.value, unit=MetricUnit.Count, value=value)


# A route that had nothing to count (a ping, a refused frame) publishes nothing: that is expected.
warnings.filterwarnings("ignore", message="No application metrics to publish")
