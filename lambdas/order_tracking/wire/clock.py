"""Time as the protocol writes it."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def iso_millis(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds, e.g. 2026-11-28T10:42:11.123Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch_seconds(moment: datetime) -> int:
    return int(moment.timestamp())
