"""Where local mode's main process spends its CPU: py-spy samples it (only threads holding the GIL,
so the samples add up to the Python CPU it uses), and each sample is put in one part by what its stack
shows, the first that matches in PARTS' order.

py-spy is a benchmark-only dependency (requirements.in); it attaches with ptrace (root, or
`kernel.yama.ptrace_scope` = 0).
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

RATE = 100  # samples per second
PARTS = [
    ("IAM and SigV4 checks", ("local/iam/",)),
    ("moto DynamoDB", ("moto/dynamodb",)),
    ("moto Step Functions (interpreter, API)", ("moto/stepfunctions",)),
    ("moto SQS, Secrets Manager, core", ("moto/",)),
    ("Lambda invoke: dispatch to workers", ("local/runtime/", "concurrent/futures", "multiprocessing")),
    ("boto3/botocore clients (interpreter's calls)", ("botocore", "boto3")),
    ("WebSocket gateway", ("local/gateway/", "websockets/")),
    ("HTTP serving of the AWS endpoint", ("local/aws/wsgi_server", "werkzeug", "socketserver", "http/server")),
]


def start_sampling(pid: int, seconds: float, out: Path) -> subprocess.Popen[Any]:
    spy = shutil.which("py-spy") or str(Path(__file__).resolve().parent.parent / ".venv" / "bin" / "py-spy")
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", str(RATE), "--gil",
         "--nonblocking", "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def summarise(profile: Path, events: int) -> dict[str, float]:
    """ms of main-process CPU per delivered event, by part (collapsed stacks: "frame;frame;... count")."""
    if not profile.exists() or not events:
        return {}
    by_part: Counter[str] = Counter()
    for line in profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        part = next((name for name, marks in PARTS if any(mark in stack for mark in marks)), "other")
        by_part[part] += int(count)
    total = sum(by_part.values())
    table = {name: round(samples / RATE * 1000 / events, 2) for name, samples in by_part.most_common()}
    return {**table, "total (sampled)": round(total / RATE * 1000 / events, 2)}
