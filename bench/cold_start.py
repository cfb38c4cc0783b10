"""Cold-start proxy (issue 7, part 3): each handler module's import time relative to `import boto3`
in the same run, and each Lambda asset's zipped size.

    python -m bench.cold_start [--runs 7]

Import times come from `python -X importtime` in a fresh interpreter per run, importing the handler
from its synthesized asset as Lambda would. Each run imports boto3 alone and then the handler, back to
back, so that both see the same machine load; the ratio reported is the median of the runs' ratios.
boto3 is in the Lambda runtime, so it is never bundled; Powertools and its extras come from the layer
and are imported from this environment here. Results go to bench/results/cold_start.json.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from local.template.stack import SynthesizedStack
from local.template.synth import ROOT, ensure_synth

RESULTS = ROOT / "bench" / "results"
ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",  # as Lambda sets it (the authorizer checks it: handlers/authorize.py)
    "PATH": "/usr/bin:/bin",
    "PYTHONDONTWRITEBYTECODE": "1",  # leave the synthesized assets as they are
}


def import_microseconds(module: str, path: Path | None) -> int:
    """Cumulative import time of `module` in a fresh interpreter, from -X importtime's last line for it."""
    env = {**ENV, **({"PYTHONPATH": str(path)} if path else {})}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"], env=env, capture_output=True, text=True, check=True
    )
    lines = [line for line in result.stderr.splitlines() if line.rstrip().endswith(f"| {module}")]
    return int(lines[-1].split("|")[1])


def paired_imports(module: str, path: Path, runs: int) -> tuple[float, float, float]:
    """(median boto3 µs, median handler µs, median of the per-run ratios handler / boto3)."""
    pairs = [(import_microseconds("boto3", None), import_microseconds(module, path)) for _ in range(runs)]
    return (
        statistics.median(b for b, _ in pairs),
        statistics.median(h for _, h in pairs),
        statistics.median(h / b for b, h in pairs),
    )


def zipped_size(directory: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            archive.write(file, file.relative_to(directory))
    return buffer.tell()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    stack = SynthesizedStack.load(ensure_synth())
    rows = []
    boto3_samples = []
    for spec in sorted(stack.functions().values(), key=lambda s: s.handler):
        module = spec.handler.rsplit(".", 1)[0]
        boto3_us, handler_us, ratio = paired_imports(module, spec.code_dir, args.runs)
        boto3_samples.append(boto3_us)
        rows.append(
            {
                "handler": module,
                "import_ms": round(handler_us / 1000, 1),
                "ratio_to_boto3": round(ratio, 2),
                "asset_kb": round(zipped_size(spec.code_dir) / 1024, 1),
            }
        )
    boto3_ms = round(statistics.median(boto3_samples) / 1000, 1)
    report = {"boto3_import_ms": boto3_ms, "runs": args.runs, "handlers": rows, "python": sys.version.split()[0]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cold_start.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"import boto3: {report['boto3_import_ms']} ms (median of {args.runs})")
    print(f"{'handler':<24}{'import ms':>10}{'× boto3':>9}{'asset KB':>10}")
    for row in rows:
        print(f"{row['handler']:<24}{row['import_ms']:>10}{row['ratio_to_boto3']:>9}{row['asset_kb']:>10}")
    return report


if __name__ == "__main__":
    main()
