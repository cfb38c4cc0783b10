"""The track_order request (docs/protocol.md), and the parse that turns a client frame into it or into
a bad_request error naming every invalid field.

Plain Python, not pydantic: the request has three fields, and importing pydantic and building its
models cost track_order about 55 ms of every cold start (docs/performance.md). The rules are
pydantic's strict mode, field by field: tests/unit/test_track_order_request.py keeps the pydantic
model this replaced and checks, on generated frames, that both accept the same frames and name the
same invalid fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from order_tracking.wire.frames import ORDER_ID_PATTERN, ErrorCode, ProtocolError, decode_frame, valid_order_id

TRACKING_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MAX_AFTER_SEQ = 1_000_000


@dataclass(frozen=True)
class Resume:
    trackingId: str
    afterSeq: int


@dataclass(frozen=True)
class TrackOrder:
    type: str
    orderId: str
    resume: Resume | None = None


def _matches(value: Any, pattern: str) -> bool:
    # fullmatch: `$` alone would also accept a trailing newline.
    return isinstance(value, str) and re.fullmatch(pattern, value) is not None


def _whole_number(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _resume_checks(resume: Any) -> list[tuple[str, bool]]:
    if resume is None:
        return []
    if not isinstance(resume, dict):
        return [("resume", False)]
    return [
        ("resume.trackingId", _matches(resume.get("trackingId"), TRACKING_ID_PATTERN)),
        ("resume.afterSeq", _whole_number(resume.get("afterSeq"), 0, MAX_AFTER_SEQ)),
    ]


def parse_track_order(body: Any) -> TrackOrder:
    """The request in `body`, or ProtocolError(bad_request) naming every invalid field. Fields the
    protocol does not define are ignored."""
    message = decode_frame(body)
    resume = message.get("resume")
    checks = [
        ("type", message.get("type") == "track_order"),
        ("orderId", _matches(message.get("orderId"), ORDER_ID_PATTERN)),
        *_resume_checks(resume),
    ]
    invalid = sorted(name for name, valid in checks if not valid)
    if invalid:
        detail = f"invalid field(s): {', '.join(invalid)}"
        raise ProtocolError(ErrorCode.BAD_REQUEST, detail, valid_order_id(message.get("orderId")))
    return TrackOrder(
        type="track_order",
        orderId=message["orderId"],
        resume=None if resume is None else Resume(trackingId=resume["trackingId"], afterSeq=resume["afterSeq"]),
    )
