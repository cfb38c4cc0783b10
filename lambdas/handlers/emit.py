"""emit (a state machine task, not a route): store one event, fenced and idempotent, then post it.

Payload: {"trackingId", "executionName", "event": {"seq", "orderId", "type", "label", "status"}}.
Returns {"outcome": sent|stored|detached|duplicate|superseded}. Throttling and 5xx that outlast
botocore's retry, a call the invocation's deadline leaves no time for (deadline.py), and a send lease
still held when the wait for it ends surface as TransientFault, which the state machine retries with
backoff (the emit is idempotent).
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from order_tracking import wiring
from order_tracking.delivery.gateway import is_server_error
from order_tracking.delivery.lease import LeaseHeld
from order_tracking.runtime import deadline, settings
from order_tracking.runtime.observability import Metric, count, logger, metrics
from order_tracking.runtime.settings import GatewaySettings, StoreSettings
from order_tracking.simulated.lifecycle import Tracker  # imported at init, not on the first request

SETTINGS = (StoreSettings, GatewaySettings)

RETRYABLE_CODES = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
}


class TransientFault(Exception):
    """A fault worth retrying; the state machine's Retry on the Emit state matches this name."""


def _transient(error: Exception) -> bool:
    if isinstance(error, BotoCoreError):
        return True
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in RETRYABLE_CODES or status >= 500 or status == 429
    return False


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deadline.start(context)
    settings.load_all(SETTINGS)
    try:
        tracker: Tracker = wiring.tracker()
        outcome = tracker.emit(event["trackingId"], event["executionName"], event["event"])
    except (BotoCoreError, ClientError, LeaseHeld, deadline.OutOfTime) as error:
        count(Metric.MANAGEMENT_API_ERRORS, int(is_server_error(error)))
        if isinstance(error, (LeaseHeld, deadline.OutOfTime)) or _transient(error):
            logger.warning("transient fault, the state machine retries", extra={"error": str(error)})
            count(Metric.EMIT_RETRIES)
            raise TransientFault(str(error)) from error
        raise
    return {"outcome": outcome}
