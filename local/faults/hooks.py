"""Local mode's fault hooks, on the API Gateway port (not API Gateway features; tests drive them):

- `POST /_local/faults/outage?seconds=N` drops every WebSocket connection without a close frame
  (clients see 1006) and refuses new ones for N seconds (0 < N <= 60), as if the WebSocket side crashed
  and restarted, while DynamoDB and Step Functions keep running;
- `GET`/`POST /_local/faults` reads or sets the fault plan of `local/faults/plan.py`.

They answer only a caller that holds the run's fault token: the process that starts local mode sets
it in the environment (`ORDER_TRACKING_FAULT_TOKEN`, as `local/cli/launcher.py` does for the tests) and
sends it in the `X-Local-Fault-Token` header. Without a token set, the hooks are off. A request with
an `Origin` header (any web page's fetch) is refused, and the custom header makes a browser ask CORS
first, which is never allowed: a page from another origin cannot trigger them.
"""

from __future__ import annotations

import hmac
import json
import math
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.faults.plan import PLAN

TOKEN_ENV = "ORDER_TRACKING_FAULT_TOKEN"
TOKEN_HEADER = "x-local-fault-token"
OUTAGE_PATH = "/_local/faults/outage"
FAULTS_PATH = "/_local/faults"
MAX_OUTAGE_SECONDS = 60.0

Answer = tuple[int, Any, dict[str, str]]


class FaultHooks:
    def __init__(self, start_outage: Callable[[float], None], token: str | None = None) -> None:
        self.start_outage = start_outage
        self.token = token if token is not None else os.environ.get(TOKEN_ENV) or None

    @staticmethod
    def handles(path: str) -> bool:
        return path in (OUTAGE_PATH, FAULTS_PATH)

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        url = urlsplit(target)
        refused = self._refuse(method, url.path, headers)
        if refused is not None:
            return refused
        if url.path == OUTAGE_PATH:
            try:
                seconds = outage_seconds(dict(parse_qsl(url.query)).get("seconds", "3"))
            except ValueError as error:
                return 400, {"message": str(error)}, {}
            self.start_outage(seconds)
            return 202, None, {}
        if method == "POST":
            try:
                settings = json.loads(body or b"{}")
                if not isinstance(settings, dict):
                    raise TypeError("the fault plan is a JSON object")
                PLAN.configure(settings)
            except (ValueError, TypeError) as error:
                return 400, {"message": str(error)}, {}
        return 200, PLAN.report(), {}

    def _refuse(self, method: str, path: str, headers: dict[str, str]) -> Answer | None:
        allowed = ("POST",) if path == OUTAGE_PATH else ("GET", "POST")
        if method not in allowed:
            return 405, {"message": f"use {' or '.join(allowed)}"}, {"Allow": ", ".join(allowed)}
        if self.token is None:
            return 403, {"message": f"fault hooks are off (set {TOKEN_ENV} when starting local mode)"}, {}
        if "origin" in headers:
            return 403, {"message": "fault hooks do not answer web pages"}, {}
        if not hmac.compare_digest(headers.get(TOKEN_HEADER, "").encode(), self.token.encode()):
            return 403, {"message": f"missing or wrong {TOKEN_HEADER}"}, {}
        return None


def outage_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"seconds must be a number, got {text[:20]!r}") from None
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_OUTAGE_SECONDS):
        raise ValueError(f"seconds must be more than 0 and at most {MAX_OUTAGE_SECONDS:g}")
    return seconds
