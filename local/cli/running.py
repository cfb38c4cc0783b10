"""Where a running local mode tells the other commands about itself: `.local/running.json` (git-ignored)
holds its process id and the URLs of its client, WebSocket and AWS endpoints, written once it is ready
and removed when it stops. `make publish`, `make token` and `make smoke` find `make dev` there, on
whatever ports it runs. A file left by a local mode that died is recognised (its process is gone)
and ignored.

Tests and benchmarks that start local mode point ORDER_TRACKING_RUNNING_FILE elsewhere, so they never
overwrite what a developer's own `make dev` wrote.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from local.template.synth import ROOT

RUNNING_FILE_ENV = "ORDER_TRACKING_RUNNING_FILE"
DEFAULT_FILE = ROOT / ".local" / "running.json"
NOT_RUNNING = "no local mode is running: start one with `make dev` (in another terminal)"


@dataclass(frozen=True)
class Running:
    pid: int
    client: str
    websocket: str  # without a token
    aws: str
    min_delay: int  # the delays it runs with (the stack's, or its --min-delay/--max-delay)
    max_delay: int


def running_file() -> Path:
    return Path(os.environ.get(RUNNING_FILE_ENV) or DEFAULT_FILE)


def announce(running: Running) -> None:
    path = running_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(running)))
    temporary.replace(path)


def withdraw(pid: int) -> None:
    """Remove the file if it is this process's (a newer local mode may have written its own)."""
    found = find()
    if found is not None and found.pid == pid:
        running_file().unlink(missing_ok=True)


def find() -> Running | None:
    """The local mode running now, or None (no file, or its process is gone)."""
    try:
        running = Running(**json.loads(running_file().read_text()))
    except (OSError, ValueError, TypeError):
        return None
    try:
        os.kill(running.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, under another user
        pass
    return running
