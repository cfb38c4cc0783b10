"""Local mode as a user runs it (`python -m local run`), in a subprocess on free ports: for the
end-to-end tests and the benchmarks."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from local.cli.running import RUNNING_FILE_ENV
from local.faults.hooks import FAULTS_PATH, OUTAGE_PATH, TOKEN_ENV, TOKEN_HEADER
from local.template.synth import ROOT

# A ready line as local/console/lines.py prints it: the time, then READY (never text inside another line).
READY = re.compile(r"^[\d:.]+ READY\s+(client|websocket|aws)\s+(\S+)")


class LocalModeProcess:
    def __init__(
        self, *args: str, ws_port: int = 0, startup_timeout: float = 120, watch: bool = False, root: Path = ROOT
    ) -> None:
        """`watch`: follow edits as `make dev` does (off for tests and benchmarks unless they ask);
        `root`: the project to run (a copy, for tests that edit it)."""
        self.args = ["--ws-port", str(ws_port), "--web-port", "0", "--aws-port", "0", *args, *([] if watch else ["--no-watch"])]
        self.root = root
        self.startup_timeout = startup_timeout
        self.lines: list[str] = []
        self.urls: dict[str, str] = {}
        self.process: subprocess.Popen[Any] | None = None
        self.fault_token = secrets.token_urlsafe(24)  # this run's key to the fault hooks
        # Where it says it runs (local/cli/running.py): its own file, never the one of a developer's make dev.
        self.running_file = Path(tempfile.mkdtemp(prefix="local-mode-")) / "running.json"

    def start(self) -> LocalModeProcess:
        env = {
            **os.environ,
            "NO_COLOR": "1",
            "PYTHONUNBUFFERED": "1",
            TOKEN_ENV: self.fault_token,
            RUNNING_FILE_ENV: str(self.running_file),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local", "run", *self.args],
            cwd=self.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ready = threading.Event()

        output = self.process.stdout
        assert output is not None

        def pump() -> None:
            for line in output:
                self.lines.append(line.rstrip())
                match = READY.match(line)
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
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

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
        status, _ = self.fault_hook(f"{OUTAGE_PATH}?seconds={seconds}", b"")
        assert status == 202

    def faults(self, settings: dict[str, Any] | None = None) -> dict[str, Any]:
        """Set the fault plan (local/faults/plan.py) with `settings`, or read it; returns the plan."""
        status, plan = self.fault_hook(FAULTS_PATH, json.dumps(settings).encode() if settings is not None else None)
        assert status == 200 and isinstance(plan, dict), plan
        return plan

    def fault_hook(self, path: str, data: bytes | None) -> tuple[int, object]:
        """Call a fault hook with this run's token: (HTTP status, JSON body)."""
        request = urllib.request.Request(  # noqa: S310 - local mode's own http:// URL
            f"{self.management_url}{path}",
            data=data,
            method="GET" if data is None else "POST",
            headers={TOKEN_HEADER: self.fault_token},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

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
        shutil.rmtree(self.running_file.parent, ignore_errors=True)
        return self.process.returncode if self.process else None
