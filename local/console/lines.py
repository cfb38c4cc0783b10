"""Readable, coloured log lines for local mode: one line per connect, route, emit and disconnect.

Lines carry what clients sent (frames, paths, headers): every control character in them is escaped,
so no client can forge a line (a READY line, say) or send terminal escapes."""

from __future__ import annotations

import os
import re
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
    "PUBLISH": "35",
    "REPEATED": "33",
    "CLOSE": "33",  # yellow
    "ERROR": "1;31",  # bold red
    "READY": "1;32",  # bold green
    "ALARM": "1;31",
    "OK": "32",
    "INFO": "37",
}


# C0 and C1 control characters and DEL: a frame, path or header must not forge a line or move the cursor.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` with every control character written as an escape (a newline as \\n, ESC as \\x1b)."""
    return CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


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
        who = f"{printable(connection_id)} " if connection_id else ""
        with self._lock:
            print(f"{stamp} {label} {who}{printable(text)}", file=self.stream, flush=True)
