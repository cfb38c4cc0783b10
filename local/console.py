"""Readable, coloured log lines for local mode: one line per connect, route, emit and disconnect."""

from __future__ import annotations

import os
import sys
import threading
from datetime import datetime
from typing import TextIO

COLOURS = {
    "CONNECT": "32",  # green
    "REFUSED": "31",  # red
    "ROUTE": "36",  # cyan
    "REPLY": "34",  # blue
    "EMIT": "35",  # magenta
    "CLOSE": "33",  # yellow
    "ERROR": "1;31",  # bold red
    "READY": "1;32",  # bold green
    "INFO": "37",
}


class Console:
    def __init__(self, stream: TextIO | None = None, colour: bool | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.colour = colour if colour is not None else (self.stream.isatty() and "NO_COLOR" not in os.environ)
        self.quiet = quiet
        self._lock = threading.Lock()

    def log(self, kind: str, text: str, connection_id: str | None = None) -> None:
        if self.quiet and kind not in ("READY", "ERROR"):
            return
        stamp = datetime.now().strftime("%H:%M:%S.%f")[:-3]
        label = f"{kind:<8}"
        if self.colour:
            label = f"\x1b[{COLOURS.get(kind, '0')}m{label}\x1b[0m"
        who = f"{connection_id} " if connection_id else ""
        with self._lock:
            print(f"{stamp} {label} {who}{text}", file=self.stream, flush=True)
