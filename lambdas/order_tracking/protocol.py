"""Wire protocol v1 (docs/protocol.md): inbound frames parsed at the edge, outbound frames built here.

Every frame a tracking client can receive carries `type`, `label`, `status`, `orderId` and `at`.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from order_tracking.clock import iso_millis, now
from order_tracking.settings import MAX_FRAME_BYTES

ORDER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
OrderId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ORDER_ID_PATTERN)]
TYPE_PATTERN = r"^[A-Za-z0-9_.:-]{1,32}$"  # a `type` short and plain enough to name in an error's detail
TrackingId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


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


class Resume(BaseModel):
    model_config = ConfigDict(strict=True)
    trackingId: TrackingId
    afterSeq: int = Field(ge=0, le=1_000_000)


class TrackOrder(BaseModel):
    model_config = ConfigDict(strict=True)
    type: Literal["track_order"]
    orderId: OrderId
    resume: Resume | None = None


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


def _valid_order_id(value: Any) -> str | None:
    """`value` if it is a valid order id (so safe to echo in an error frame), else None."""
    return value if isinstance(value, str) and re.fullmatch(ORDER_ID_PATTERN, value) else None


def parse_track_order(body: Any) -> TrackOrder:
    message = decode_frame(body)
    try:
        return TrackOrder.model_validate(message)
    except ValidationError as error:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "frame" for e in error.errors()})
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            f"invalid field(s): {', '.join(fields)}",
            _valid_order_id(message.get("orderId")),
        ) from None


def classify_unrouted(body: Any) -> ProtocolError:
    """The answer to a frame that matched no route ($default)."""
    message = decode_frame(body)
    kind = message.get("type")
    detail = (
        f"unknown message type {kind!r}" if isinstance(kind, str) and re.fullmatch(TYPE_PATTERN, kind) else "unknown message type"
    )
    return ProtocolError(ErrorCode.UNKNOWN_TYPE, detail, _valid_order_id(message.get("orderId")))


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


def order_event_frame(*, tracking_id: str, order_id: str, seq: int, event: dict[str, str], at: str) -> dict[str, Any]:
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
