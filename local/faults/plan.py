"""Fault injection for tests: local mode can make DynamoDB, the management API and Lambda misbehave
the way AWS sometimes does, so the delivery guarantees can be proven under faults.

Set with `POST /_local/faults` on the WebSocket port, body {"dynamodb": p, "management": p,
"lambda_retry": p, "seed": n} (probabilities 0..1); `GET /_local/faults` returns the plan and how many
faults were injected. Off by default; nothing here runs unless a test asks.

- dynamodb: a handler's DynamoDB call answers 500 InternalServerError or 400 ThrottlingException.
- management: `POST @connections/{id}` answers 500 InternalServerError.
- lambda_retry: the emit function runs, then its invocation reports Lambda.ServiceException, so Step
  Functions retries a step that already happened (at-least-once delivery of a step).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = ("dynamodb", "management", "lambda_retry")


@dataclass
class FaultPlan:
    probabilities: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KINDS, 0.0))
    injected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    _random: random.Random = field(default_factory=random.Random)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _elsewhere: dict[str, Any] = field(default_factory=dict)

    def configure(self, settings: dict[str, Any]) -> None:
        with self._lock:
            for kind in KINDS:
                if kind in settings:
                    value = float(settings[kind])
                    if not 0.0 <= value <= 1.0:
                        raise ValueError(f"{kind} must be a probability, got {value}")
                    self.probabilities[kind] = value
            if "seed" in settings:
                self._random.seed(settings["seed"])
            elsewhere = set(self._elsewhere.values())
        for process in elsewhere:
            process.configure_faults(settings)

    def delegate(self, kind: str, process: Any | None) -> None:
        """Faults of `kind` are struck in another process (local/aws/dynamodb_process.py): configuring
        the plan configures its plan too, and the report shows what it injected. None: here again."""
        with self._lock:
            if process is None:
                self._elsewhere.pop(kind, None)
            else:
                self._elsewhere[kind] = process

    def strike(self, kind: str) -> bool:
        """Whether this call of `kind` fails; counts the faults it injects."""
        with self._lock:
            if self.probabilities[kind] <= 0 or self._random.random() >= self.probabilities[kind]:
                return False
            self.injected[kind] += 1
            return True

    def choice(self, options: list[Any]) -> object:
        with self._lock:
            return self._random.choice(options)

    def report(self) -> dict[str, Any]:
        with self._lock:
            probabilities, injected = dict(self.probabilities), dict(self.injected)
            elsewhere = dict(self._elsewhere)
        for kind, process in elsewhere.items():
            injected[kind] = process.fault_report()["injected"][kind]
        return {"probabilities": probabilities, "injected": injected}


# One plan per local mode process, shared by the stand-ins.
PLAN = FaultPlan()
