"""The two servers the latency benchmark measures side by side, started fresh for each run, and
where each says when it meant to send an event (the schedule lateness is measured against):

- local mode (`python -m local run`): the Wait state's entry time plus its drawn delay, from each
  execution's history in moto's Step Functions;
- the reference Node.js `ws` server (bench/reference/server.mjs): the timer's due time it logs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.executions import executions_by_name, history
from bench.process_usage import Usage, usage_of
from local.aws.services import local_client
from local.cli.launcher import LocalModeProcess
from local.template.synth import ROOT

# (trackingId, seq) -> epoch seconds at which the server meant to send that event
Schedule = dict[tuple[str, int], float]


class LocalModeTarget:
    name = "local mode"

    def __init__(
        self, min_delay: int, max_delay: int, workers: int = 4, keep_executions: float = 3600, extra_args: list[str] | None = None
    ) -> None:
        self.process = LocalModeProcess(
            "--min-delay", str(min_delay), "--max-delay", str(max_delay),
            "--workers", str(workers),
            "--max-connections-per-customer", "1000000",
            "--keep-executions", str(keep_executions),
            "--idle-timeout", "3600",
            "--quiet",
            *(extra_args or []),
        )  # fmt: skip

    def start(self) -> LocalModeTarget:
        self.process.start()
        return self

    @property
    def url(self) -> str:
        return self.process.ws_url.split("?", 1)[0]

    def usage(self) -> Usage:
        assert self.process is not None
        return usage_of(self.process.pid)

    def schedule(self, tracking_ids: list[str]) -> Schedule:
        sfn = local_client(self.process.aws_url, "stepfunctions")
        arns = executions_by_name(sfn)
        schedule: Schedule = {}
        for tracking_id in tracking_ids:
            if tracking_id not in arns:
                continue
            try:
                events = history(sfn, arns[tracking_id])
            except sfn.exceptions.ExecutionDoesNotExist:
                continue  # pruned since it was listed
            for event in events:
                details = event.get("stateEnteredEventDetails") or {}
                if event["type"] == "WaitStateEntered":
                    state = json.loads(details["input"])
                    due = _epoch(event["timestamp"]) + state["delay"]["seconds"]
                    schedule[(tracking_id, state["event"]["seq"])] = due
        return schedule

    def stop(self) -> None:
        self.process.stop()


class ReferenceServer:
    name = "reference (Node ws)"

    def __init__(self, min_delay: int, max_delay: int, signing_secret: str) -> None:
        self._log = Path(tempfile.mkstemp(prefix="reference-schedule-", suffix=".jsonl")[1])
        self._env = {
            **os.environ,
            "PORT": "0",
            "MIN_DELAY": str(min_delay),
            "MAX_DELAY": str(max_delay),
            "SIGNING_SECRET": signing_secret,
            "SCHEDULE_LOG": str(self._log),
        }
        self.process: subprocess.Popen[Any] | None = None
        self.port: int | None = None

    def start(self) -> ReferenceServer:
        self.process = subprocess.Popen(
            [shutil.which("node") or "node", str(ROOT / "bench" / "reference" / "server.mjs")],
            env=self._env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = self.process.stdout
        assert output is not None
        line = output.readline()
        if not line.startswith("LISTENING "):
            self.stop()
            raise RuntimeError(f"reference server did not start: {line}{output.read()}")
        self.port = int(line.split()[1])
        threading.Thread(target=output.read, daemon=True).start()  # keep its pipe drained
        return self

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def usage(self) -> Usage:
        assert self.process is not None
        return usage_of(self.process.pid)

    def schedule(self, tracking_ids: list[str]) -> Schedule:
        wanted = set(tracking_ids)
        lines = (json.loads(line) for line in self._log.read_text().splitlines() if line)
        return {(e["trackingId"], e["seq"]): e["scheduledAt"] / 1000 for e in lines if e["trackingId"] in wanted}

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self._log.unlink(missing_ok=True)


def _epoch(timestamp: datetime | float) -> float:
    return timestamp.timestamp() if isinstance(timestamp, datetime) else float(timestamp)
