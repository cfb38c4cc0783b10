"""What every WebSocket route handler shares: reading the API Gateway event, shaping the reply,
and turning any failure into an `error` frame instead of a crash."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from order_tracking.observability import Metric, count, logger, metrics
from order_tracking.protocol import ErrorCode, ProtocolError, encode, error_frame
from order_tracking.settings import DEMO_CUSTOMER_ID

Reply = dict[str, Any]


def connection_id(event: dict[str, Any]) -> str:
    return event["requestContext"]["connectionId"]


def customer_id(event: dict[str, Any]) -> str:
    """The customer the $connect authorizer vouched for; the demo customer until one exists."""
    authorizer = event.get("requestContext", {}).get("authorizer") or {}
    return authorizer.get("customerId") or authorizer.get("principalId") or DEMO_CUSTOMER_ID


def requested_at(event: dict[str, Any]) -> int:
    """When API Gateway received the frame (epoch ms): the order of a connection's requests."""
    return int(event.get("requestContext", {}).get("requestTimeEpoch") or time.time() * 1000)


def reply(frame: dict[str, Any] | None = None) -> Reply:
    """A route response: API Gateway sends `body` to the client (routes with return_response)."""
    return {"statusCode": 200} if frame is None else {"statusCode": 200, "body": encode(frame)}


def websocket_route(handle: Callable[[dict[str, Any]], Reply]) -> Callable[[dict[str, Any], Any], Reply]:
    """Wrap a route: log with the connection id, answer ProtocolError and any crash with an `error` frame.

    On $connect a crash answers 500 instead, so API Gateway refuses the handshake: a connection that
    could not be stored must not open.
    """

    @functools.wraps(handle)
    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> Reply:
        request = event.get("requestContext", {})
        logger.append_keys(connection_id=request.get("connectionId"), route=request.get("routeKey"))
        try:
            return handle(event)
        except ProtocolError as refused:
            logger.info("frame refused", extra={"code": refused.code.value, "detail": refused.detail})
            return reply(refused.frame())
        except Exception:
            logger.exception("route failed")
            count(Metric.ERRORS)
            if request.get("eventType") == "CONNECT":
                return {"statusCode": 500}
            return reply(error_frame(ErrorCode.INTERNAL, None))

    return handler
