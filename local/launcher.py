"""Local mode as a user runs it (`python -m local run`), in a subprocess on free ports: for the
end-to-end tests and the benchmarks."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

from local.synth import ROOT

READY = re.compile(r"READY\s+(client|websocket|aws)\s+(\S+)")


class LocalModeProcess:
    def __init__(self, *args: str, ws_port: int = 0, startup_timeout: float = 120) -> None:
        self.args = ["--ws-port", str(ws_port), "--web-port", "0", *args]
        self.startup_timeout = startup_timeout
        self.lines: list[str] = []
        self.urls: dict[str, str] = {}
        self.process: subprocess.Popen | None = None

    def start(self) -> LocalModeProcess:
        env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local", "run", *self.args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ready = threading.Event()

        def pump() -> None:
            for line in self.process.stdout:
                self.lines.append(line.rstrip())
                match = READY.search(line)
                if match:
                    self.urls[match.group(1)] = match.group(2)
                    if len(self.urls) == 3:
                        ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(self.startup_timeout):
            self.stop()
            raise RuntimeError("local mode did not start:\n" + "\n".join(self.lines[-40:]))
        return self

    @property
    def ws_url(self) -> str:
        return self.urls["websocket"]

    @property
    def web_url(self) -> str:
        return self.urls["client"]

    @property
    def aws_url(self) -> str:
        return self.urls["aws"]

    def outage(self, seconds: float) -> None:
        """The fault hook: the WebSocket side drops every connection and is down for `seconds`."""
        url = f"{self.management_url}/_local/faults/outage?seconds={seconds}"
        request = urllib.request.Request(url, data=b"", method="POST")  # noqa: S310 - local mode's own http:// URL
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 202

    @property
    def management_url(self) -> str:
        return self.ws_url.split("?", 1)[0].replace("ws://", "http://")

    def stop(self) -> int | None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        time.sleep(0.1)
        return self.process.returncode if self.process else None
