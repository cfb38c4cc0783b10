"""Keeps `cdk.out/` in step with the code: synthesizes when it is missing or older than its sources."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("app.py", "cdk.json", "infra", "lambdas")
SYNTH_ENV = {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "AWS_EC2_METADATA_DISABLED": "true"}


def _newest_source_mtime(root: Path) -> float:
    newest = 0.0
    for name in SOURCES:
        path = root / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        newest = max([newest, *(f.stat().st_mtime for f in files)])
    return newest


def local_stack_name(root: Path = ROOT) -> str:
    """The stack local mode runs: the app's, for the stage cdk.json names (app.py names it so)."""
    return f"OrderTracking-{json.loads((root / 'cdk.json').read_text())['context'].get('stage', 'dev')}"


def is_stale(cdk_out: Path, root: Path = ROOT) -> bool:
    """Whether `cdk_out` must be synthesized again: it is missing, older than a source, or holds another
    assembly than the one local mode runs (`cdk synth -c stage=prod` into it, say)."""
    manifest = cdk_out / "manifest.json"
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(root):
        return True
    try:
        artifacts = json.loads(manifest.read_text())["artifacts"]
    except (ValueError, KeyError):
        return True
    stacks = {name for name, artifact in artifacts.items() if artifact.get("type") == "aws:cloudformation:stack"}
    return stacks != {local_stack_name(root)}


def ensure_synth(
    cdk_out: Path = ROOT / "cdk.out", context: dict[str, str] | None = None, force: bool = False, *, capture: bool = False
) -> Path:
    """Synthesize the app into `cdk_out` if needed (always, with `context` or `force`); returns `cdk_out`.
    With `capture`, a failed synth's output is in the CalledProcessError's `stderr` instead of the console."""
    if force or context or is_stale(cdk_out):
        args = [sys.executable, str(ROOT / "app.py")]
        env = {**os.environ, **SYNTH_ENV, "CDK_OUTDIR": str(cdk_out)}
        if context:
            env["CDK_CONTEXT_JSON"] = json.dumps(context)
        stderr = subprocess.PIPE if capture else None
        subprocess.run(args, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=stderr, text=True)
    return cdk_out
