"""What `python -m local run` is told (its options, and the values of the stack's a flag overrides), and
a taken port said in one line."""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from local.aws.cloudwatch import EVALUATE_EVERY_SECONDS
from local.gateway.connections import IDLE_TIMEOUT_SECONDS, MAX_LIFETIME_SECONDS
from local.template.synth import ROOT

Bound = TypeVar("Bound")


class PortInUse(Exception):
    """A port local mode was told to use is taken: said in one line, with the option that changes it."""

    def __init__(self, port: int, option: str) -> None:
        super().__init__(
            f"port {port} is in use (is make dev running already?): stop what uses it, or choose another "
            f"port with {option}, e.g. make dev ARGS='{option} {port + 100}'"
        )


def bind(port: int, option: str, start: Callable[[], Bound]) -> Bound:
    """`start()`, which binds `port` (set by `option`); PortInUse when the port is taken."""
    try:
        return start()
    except OSError as error:
        raise taken(error, port, option) from None


def taken(error: OSError, port: int, option: str) -> Exception:
    return PortInUse(port, option) if error.errno == errno.EADDRINUSE else error


@dataclass(frozen=True)
class Override:
    """A value of the stack's that a command-line flag replaces in every function's environment."""

    value: str
    flag: str  # e.g. "--max-delay 2"


@dataclass
class LocalOptions:
    host: str = "127.0.0.1"
    ws_port: int = 3000
    web_port: int = 8000
    aws_port: int = 3001  # the AWS endpoint (make publish finds make dev here)
    min_delay: int | None = None  # None: the stack's bounds
    max_delay: int | None = None
    idle_timeout: float = IDLE_TIMEOUT_SECONDS
    max_lifetime: float = MAX_LIFETIME_SECONDS
    workers: int = 2
    max_connections_per_customer: int | None = None  # None: the stack's cap
    log_level: str = "WARNING"  # the handlers' Powertools log level
    keep_executions: float = 60.0  # seconds a finished execution (and its history) stays readable
    retention: int | None = None  # seconds trackings are kept for resume; None: the stack's retentionHours
    quiet: bool = False
    dynamodb_process: bool = True  # moto's DynamoDB in a process of its own (local/aws/dynamodb_process.py)
    watch: bool = True  # follow edits of handlers, the stack and the client (local/cli/reload.py)
    announce: bool = True  # tell make publish, make token and make smoke where it runs (local/cli/running.py)
    alarm_every: float = EVALUATE_EVERY_SECONDS  # seconds between evaluations of the alarms (local/aws/cloudwatch.py)
    cdk_out: Path = ROOT / "cdk.out"
    client_dir: Path = ROOT / "client"
