"""What a smoke check says (PASS, FAIL or SKIP, with its time, detail and timings), and the options
every check reads."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Options:
    first_event_limit: float = 1.0  # seconds from track_order to the first event, on a warm connection
    slack: float = 2.0  # seconds a gap may exceed the longest delay (cold starts, the network)


@dataclass
class Result:
    name: str
    status: str  # PASS, FAIL or SKIP
    seconds: float
    detail: str = ""
    timings: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == "PASS"


def verdict(name: str, started: float, problems: list[str], detail: str, timings: dict[str, Any] | None = None) -> Result:
    seconds = round(time.monotonic() - started, 2)
    return Result(name, "FAIL" if problems else "PASS", seconds, "; ".join(problems) or detail, timings or {})


def skip(name: str, why: str) -> Result:
    return Result(name, "SKIP", 0.0, why)
