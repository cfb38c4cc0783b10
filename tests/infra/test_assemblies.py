"""Each stage's cloud assembly has a place of its own: synthesizing prod never changes what local mode
and the tests run, and a cdk.out holding another stage's assembly is synthesized again; a benchmark
run directly gets the environment `make` sets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from local.template.synth import ROOT, is_stale, local_stack_name
from tests.support.make import make


def make_dry_run(*args: str) -> str:
    return make("-n", *args, check=True).stdout


def test_each_stage_synthesizes_into_its_own_directory():
    assert "--output cdk.out.prod" in make_dry_run("synth", "STAGE=prod")
    assert "--output cdk.out.prod OrderTracking-prod" in make_dry_run("deploy", "STAGE=prod")
    assert make_dry_run("synth").split()[-1] == "cdk.out"


def test_a_cdk_out_with_another_stages_stack_is_synthesized_again(cdk_out, prod_cdk_out, tmp_path):
    copy = tmp_path / "cdk.out"
    shutil.copytree(cdk_out, copy)
    assert not is_stale(copy)  # only the dev stack: what local mode runs
    manifest = json.loads((copy / "manifest.json").read_text())
    prod = json.loads((prod_cdk_out / "manifest.json").read_text())
    manifest["artifacts"] |= {name: a for name, a in prod["artifacts"].items() if a["type"] == "aws:cloudformation:stack"}
    (copy / "manifest.json").write_text(json.dumps(manifest))  # as `cdk synth -c stage=prod` into it leaves it
    assert is_stale(copy)
    (dev,) = [a for a in manifest["artifacts"] if a == local_stack_name()]
    manifest["artifacts"] = {n: a for n, a in manifest["artifacts"].items() if n != dev}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert is_stale(copy)  # prod's alone


def test_a_benchmark_run_directly_prints_no_node_banner_as_bytes(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k != "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"}
    done = subprocess.run(
        [sys.executable, "-m", "bench.latency", "--help"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    printed = done.stdout + done.stderr
    assert "b'" not in printed and "end-of-life" not in printed
