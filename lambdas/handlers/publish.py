"""publish (the target of the stack's EventBridge rule, not a route): a backend's order status change,
stored as the order's next event and posted to every connection watching the order (order_tracking/live/publish.py).

The event's `detail` is the publish (order_tracking/wire/publish.py). One that must not be stored
(malformed, a simulated order, another customer's order, past the event limit) is refused: nothing is
stored or sent, a record of it with why goes to the publish-failures queue, and the invocation
succeeds, so Lambda does not retry it. Faults that outlast botocore's retries fail the invocation:
Lambda retries it (twice, for an asynchronous invocation), then puts it on the same queue.
Returns {"outcome": delivered|duplicate|refused, ...}.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from order_tracking import wiring
from order_tracking.live import refusals
from order_tracking.live.publish import Publisher  # imported at init, not on the first event
from order_tracking.runtime import deadline, settings
from order_tracking.runtime.observability import Metric, count, logger, metrics
from order_tracking.runtime.settings import GatewaySettings, OrderSettings, PublishSettings, RetentionSettings, WatcherSettings
from order_tracking.wire.publish import PublishRefused, parse_publish

SETTINGS = (OrderSettings, WatcherSettings, RetentionSettings, GatewaySettings, PublishSettings)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deadline.start(context)
    settings.load_all(SETTINGS)
    logger.append_keys(event_id=event.get("id"), source=event.get("source"))
    try:
        publisher: Publisher = wiring.publisher()
        outcome, seq, watchers = publisher.publish(parse_publish(event.get("detail")))
    except PublishRefused as refused:
        count(Metric.PUBLISHES_REFUSED)
        logger.warning("publish refused", extra={"reason": refused.reason.value, "detail": refused.detail})
        refusals.record(wiring.publish_failures_queue(), event, refused)
        return {"outcome": "refused", "reason": refused.reason.value, "detail": refused.detail}
    return {"outcome": outcome.value, "seq": seq, "watchers": watchers}
