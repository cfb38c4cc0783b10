"""Wire protocol v1 (docs/protocol.md): frames decoded at the edge, error codes, outbound frames.

Every frame a tracking client can receive carries `type`, `label`, `status`, `orderId` and `at`.
The track_order request and its parse live in track_order.py, a backend's publish in publish.py.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any

from order_tracking.wire.clock import iso_millis, now

# Frames larger than this are refused with bad_request (API Gateway itself stops at 128 KB).
MAX_FRAME_BYTES = 4096

ORDER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
TYPE_PATTERN = r"^[A-Za-z0-9_.:-]{1,32}$"  # a `type` short and plain enough to name in an error's detail
STATUSES = frozenset({"pending", "active", "success", "warning", "cancelled", "error"})


class ErrorCode(StrEnum):
    ORDER_NOT_FOUND = "order_not_found"
    BAD_REQUEST = "bad_request"
    UNKNOWN_TYPE = "unknown_type"
    THROTTLED = "throttled"
    INTERNAL = "internal"


ERROR_LABELS = {
    ErrorCode.ORDER_NOT_FOUND: "Order not found",
    ErrorCode.BAD_REQUEST: "Bad request",
    ErrorCode.UNKNOWN_TYPE: "Unknown message type",
    ErrorCode.THROTTLED: "Too many requests",
    ErrorCode.INTERNAL: "Something went wrong",
}


class ProtocolError(Exception):
    """A frame the protocol refuses; becomes an `error` frame, the connection stays open."""

    def __init__(self, code: ErrorCode, detail: str, order_id: str | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.order_id = order_id

    def frame(self) -> dict[str, Any]:
        return error_frame(self.code, self.order_id, self.detail)


def decode_frame(body: Any) -> dict[str, Any]:
    """The JSON object in a client frame, or ProtocolError(bad_request)."""
    if not isinstance(body, str):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "frame must be a JSON text frame")
    if len(body.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"frame is larger than {MAX_FRAME_BYTES} bytes")
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "frame is not valid JSON") from None
    if not isinstance(message, dict):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "frame must be a JSON object")
    return message


def valid_order_id(value: Any) -> str | None:
    """`value` if it is a valid order id (so safe to echo in an error frame), else None."""
    return value if isinstance(value, str) and re.fullmatch(ORDER_ID_PATTERN, value) else None


def requested_order_id(body: Any) -> str | None:
    """The valid order id a client frame asked for, if any: what an `internal` error answering it
    names (protocol: an error's orderId), so a client can tell which of its requests failed."""
    try:
        return valid_order_id(decode_frame(body).get("orderId"))
    except ProtocolError:
        return None


def classify_unrouted(body: Any) -> ProtocolError:
    """The answer to a frame that matched no route ($default)."""
    message = decode_frame(body)
    kind = message.get("type")
    detail = (
        f"unknown message type {kind!r}" if isinstance(kind, str) and re.fullmatch(TYPE_PATTERN, kind) else "unknown message type"
    )
    return ProtocolError(ErrorCode.UNKNOWN_TYPE, detail, valid_order_id(message.get("orderId")))


def error_frame(code: ErrorCode, order_id: str | None, detail: str | None = None) -> dict[str, Any]:
    frame = {
        "type": "error",
        "code": code.value,
        "label": ERROR_LABELS[code],
        "status": "error",
        "orderId": order_id,
        "at": iso_millis(now()),
    }
    if detail:
        frame["detail"] = detail
    return frame


def pong_frame() -> dict[str, Any]:
    return {"type": "pong", "at": iso_millis(now())}


def event_id(tracking_id: str, seq: int) -> str:
    return f"{tracking_id}#{seq}"


def order_event_frame(*, tracking_id: str, order_id: str, seq: int, event: dict[str, Any], at: str) -> dict[str, Any]:
    return {
        "type": event["type"],
        "label": event["label"],
        "status": event["status"],
        "orderId": order_id,
        "at": at,
        "seq": seq,
        "trackingId": tracking_id,
        "eventId": event_id(tracking_id, seq),
    }


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)
