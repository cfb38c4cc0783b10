"""What every WebSocket route handler shares: reading the API Gateway event, shaping the reply,
and turning any failure into an `error` frame instead of a crash."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from order_tracking.runtime import deadline, settings
from order_tracking.runtime.observability import Metric, count, logger, metrics
from order_tracking.runtime.settings import SettingsGroup
from order_tracking.wire.frames import ErrorCode, ProtocolError, encode, error_frame, requested_order_id

Reply = dict[str, Any]


def connection_id(event: dict[str, Any]) -> str:
    return str(event["requestContext"]["connectionId"])


def customer_id(event: dict[str, Any]) -> str:
    """The customer the $connect authorizer vouched for (every route of the API has the authorizer's
    context; an event without it is a wiring defect and fails, rather than acting for a default customer)."""
    return str(event["requestContext"]["authorizer"]["customerId"])


def requested_at(event: dict[str, Any]) -> int:
    """When API Gateway received the frame (epoch ms): the order of a connection's requests."""
    return int(event.get("requestContext", {}).get("requestTimeEpoch") or time.time() * 1000)


def reply(frame: dict[str, Any] | None = None) -> Reply:
    """A route response: API Gateway sends `body` to the client (routes with return_response)."""
    return {"statusCode": 200} if frame is None else {"statusCode": 200, "body": encode(frame)}


def websocket_route(
    groups: tuple[type[SettingsGroup], ...] = (),
) -> Callable[[Callable[[dict[str, Any]], Reply]], Callable[[dict[str, Any], Any], Reply]]:
    """Wrap a route: load the settings `groups` it needs (a missing or malformed variable fails the
    invocation with SettingsError: a deployment defect, not the client's), log with the connection id,
    and answer ProtocolError and any crash with an `error` frame.

    On $connect a crash answers 500 instead, so API Gateway refuses the handshake: a connection that
    could not be stored must not open.
    """

    def wrap(handle: Callable[[dict[str, Any]], Reply]) -> Callable[[dict[str, Any], Any], Reply]:
        @functools.wraps(handle)
        @metrics.log_metrics
        @logger.inject_lambda_context(clear_state=True)
        def handler(event: dict[str, Any], context: Any) -> Reply:
            deadline.start(context)
            settings.load_all(groups)
            request = event.get("requestContext", {})
            logger.append_keys(connection_id=request.get("connectionId"), route=request.get("routeKey"))
            try:
                return handle(event)
            except ProtocolError as refused:
                logger.info("frame refused", extra={"code": refused.code.value, "detail": refused.detail})
                return reply(refused.frame())
            except Exception as error:
                logger.exception("route failed")
                count(Metric.ERRORS)
                # not at the top: ping and $default make no AWS call (cold start)
                from order_tracking.delivery.gateway import is_server_error

                count(Metric.MANAGEMENT_API_ERRORS, int(is_server_error(error)))
                if request.get("eventType") == "CONNECT":
                    return {"statusCode": 500}
                return reply(error_frame(ErrorCode.INTERNAL, requested_order_id(event.get("body"))))

        return handler

    return wrap
