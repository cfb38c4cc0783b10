"""The track_order request (docs/protocol.md): its pydantic model, and the parse that turns a client
frame into it or into a bad_request error naming every invalid field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from order_tracking.protocol import ORDER_ID_PATTERN, ErrorCode, ProtocolError, decode_frame, valid_order_id

OrderId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ORDER_ID_PATTERN)]
TrackingId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class Resume(BaseModel):
    model_config = ConfigDict(strict=True)
    trackingId: TrackingId
    afterSeq: int = Field(ge=0, le=1_000_000)


class TrackOrder(BaseModel):
    model_config = ConfigDict(strict=True)
    type: Literal["track_order"]
    orderId: OrderId
    resume: Resume | None = None


def parse_track_order(body: Any) -> TrackOrder:
    message = decode_frame(body)
    try:
        return TrackOrder.model_validate(message)
    except ValidationError as error:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "frame" for e in error.errors()})
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            f"invalid field(s): {', '.join(fields)}",
            valid_order_id(message.get("orderId")),
        ) from None
