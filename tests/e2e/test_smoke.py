"""`make smoke`, the check a user runs against a deployed stack, run here against local mode the way
a user runs it against any endpoint (`URL=… TOKEN=…`; with --stack, against that stack), so that it
cannot rot. The whole suite against a running `make dev`, and against broken services, is
test_smoke_conformance.py's."""

from __future__ import annotations

import json
import subprocess
from urllib.parse import unquote

from tests.support.make import make

ENDPOINT_CHECKS = [
    "connect",
    "complete",
    "gaps",
    "random",
    "first-event",
    "switch",
    "unknown-order",
    "resume",
    "refused-no-token",
    "refused-wrong-signature",
]
NEEDS_THE_STACK = ["refused-expired", "disconnect", "live-order", "foreign-live-order", "hosted-client", "no-alarm"]


def make_smoke(*variables: str) -> subprocess.CompletedProcess:
    return make("-s", "smoke", *variables)


def endpoint_and_token(target, *more: str) -> list[str]:
    token = unquote(target.url().split("token=", 1)[1])
    delays = f"--min-delay {target.min_delay} --max-delay {target.max_delay}"
    return [f"URL={target.ws_url}", f"TOKEN={token}", f"SMOKE_ARGS={delays} {' '.join(more)}".strip()]


def test_make_smoke_with_an_endpoint_and_a_token_runs_every_endpoint_check_and_says_what_it_skipped(target, deployed_stack):
    if deployed_stack:
        result = make_smoke(f"STACK={deployed_stack}")
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.splitlines()[-1] == f"{len(ENDPOINT_CHECKS) + len(NEEDS_THE_STACK)} passed, 0 failed, 0 skipped"
        return
    result = make_smoke(*endpoint_and_token(target))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for check in ENDPOINT_CHECKS:
        (line,) = [line for line in lines if line.split()[:2] == ["PASS", check]]
    (first,) = [line for line in lines if line.split()[:2] == ["PASS", "first-event"]]
    assert "s after track_order (limit 1 s)" in first
    (gaps,) = [line for line in lines if line.split()[:2] == ["PASS", "random"]]
    assert "min/median/max" in gaps and "an honest service fails this once in" in gaps
    for check in NEEDS_THE_STACK:
        (line,) = [line for line in lines if line.startswith(f"SKIP {check}: ")]
        assert "needs the stack's" in line or "no client URL" in line, line
    assert lines[-1] == f"{len(ENDPOINT_CHECKS)} passed, 0 failed, {len(NEEDS_THE_STACK)} skipped"


def test_strict_turns_a_skip_into_a_failure(target, deployed_stack):
    if deployed_stack:
        return
    result = make_smoke(*endpoint_and_token(target, "--strict"))
    assert result.returncode != 0, result.stdout
    assert result.stdout.splitlines()[-1].endswith("skipped (--strict: skips fail)")


def test_json_prints_one_document_of_results_and_timings(target, deployed_stack):
    if deployed_stack:
        return
    result = make_smoke(*endpoint_and_token(target, "--json"))
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["passed"] is True
    assert document["counts"] == {"PASS": len(ENDPOINT_CHECKS), "FAIL": 0, "SKIP": len(NEEDS_THE_STACK)}
    by_name = {r["name"]: r for r in document["results"]}
    assert 0 < by_name["first-event"]["timings"]["first_event_s"] <= 1
    assert len(by_name["random"]["timings"]["gaps_s"]) >= 8
    assert all(r["seconds"] >= 0 for r in document["results"])


def test_make_smoke_fails_and_says_so_when_the_token_is_refused(target):
    result = make_smoke(f"URL={target.ws_url}", "TOKEN=not-a-token")
    assert result.returncode != 0
    assert any(line.startswith("FAIL  connect") and "403" in line for line in result.stdout.splitlines()), result.stdout
