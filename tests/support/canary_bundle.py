"""The smoke canary's bundle as Synthetics runs it: the synthesized asset's python/ folder, on a Python
that has only the standard library and what the Lambda runtime under Synthetics provides (boto3 and its
dependencies), nothing else of this machine's site-packages."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import boto3

from local.template.stack import SynthesizedStack

RUNTIME_PACKAGES = ("boto3", "botocore", "jmespath", "dateutil", "urllib3", "s3transfer", "six")


def canary_resource(stack: SynthesizedStack) -> dict[str, Any]:
    (canary,) = [r for r in stack.resources.values() if r["Type"] == "AWS::Synthetics::Canary"]
    return canary


def bundle_of(stack: SynthesizedStack) -> Path:
    """The canary's asset folder in the cloud assembly (its code's S3 key is the asset's hash)."""
    key = canary_resource(stack)["Properties"]["Code"]["S3Key"]
    return stack.cdk_out / f"asset.{key.removesuffix('.zip')}"


def runtime_path(tmp: Path) -> Path:
    """A folder holding only the packages the runtime provides (links into this machine's site-packages)."""
    site = Path(boto3.__file__).resolve().parent.parent
    runtime = tmp / "runtime-packages"
    runtime.mkdir(exist_ok=True)
    for name in RUNTIME_PACKAGES:
        source = site / name if (site / name).exists() else site / f"{name}.py"
        link = runtime / source.name
        if not link.exists():
            link.symlink_to(source)
    return runtime


def handler_command(stack: SynthesizedStack, tmp: Path, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) calling the bundle's handler as Synthetics does: `module.function` from the
    template, with -S (no site-packages) and PYTHONPATH the bundle's python/ and the runtime's packages."""
    module, function = canary_resource(stack)["Properties"]["Code"]["Handler"].rsplit(".", 1)
    code = f"import {module}; print({module}.{function}({{}}, None))"
    path = os.pathsep.join([str(bundle_of(stack) / "python"), str(runtime_path(tmp))])
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return [sys.executable, "-S", "-c", code], {**clean, "PYTHONPATH": path, **env}
