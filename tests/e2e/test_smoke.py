"""`make smoke`, the check a user runs against a deployed stack, run here against local mode the way
a user runs it against `make dev` (with --stack, against that stack), so that it cannot rot."""

from __future__ import annotations

import shutil
import subprocess
from urllib.parse import unquote

from local.synth import ROOT

CHECKS = [
    "connect with a valid token",
    "track ZX-1003 to its end",
    "track ZX-1001 to its end",
    "unknown order gets order_not_found",
    "a wrongly signed token is refused",
    "resume after a reconnect",
]


def make_smoke(*variables: str) -> subprocess.CompletedProcess:
    make = shutil.which("make") or "make"
    return subprocess.run([make, "-s", "smoke", *variables], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_make_smoke_passes_every_check_and_reports_timings(target, deployed_stack):
    if deployed_stack:
        result = make_smoke(f"STACK={deployed_stack}")
    else:
        token = unquote(target.url().split("token=", 1)[1])
        delays = f"SMOKE_ARGS=--min-delay {target.min_delay} --max-delay {target.max_delay}"
        result = make_smoke(f"URL={target.ws_url}", f"TOKEN={token}", delays)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for check in CHECKS:
        (line,) = [line for line in lines if check in line]
        assert line.startswith("PASS"), line
    (first,) = [line for line in lines if "track ZX-1001" in line]
    assert "first event" in first and "lateness beyond" in first
    assert lines[-1] == f"{len(CHECKS)} passed, 0 failed"


def test_make_smoke_fails_and_says_so_when_the_token_is_refused(target):
    result = make_smoke(f"URL={target.ws_url}", "TOKEN=not-a-token")
    assert result.returncode != 0
    assert any(line.startswith("FAIL  connect with a valid token") and "403" in line for line in result.stdout.splitlines())
