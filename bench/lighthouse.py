"""Lighthouse's four scores of the hosted page, served by local mode (docs/client.md records a run).

    python -m bench.lighthouse

Starts local mode, opens its client URL in Debian's Chromium through Lighthouse (the exact release
LIGHTHOUSE names, fetched by npx from the npm registry on first use: a benchmark's tool, not a
dependency of the project or its tests), and writes the performance, accessibility, best-practices
and SEO scores (0-100) with the audits that did not pass to bench/results/lighthouse.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from local.cli.launcher import LocalModeProcess
from local.template.synth import ROOT, ensure_synth

LIGHTHOUSE = "lighthouse@12.8.2"  # the newest release that supports Node.js 20
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NPX = shutil.which("npx") or "/usr/bin/npx"
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
RESULTS = ROOT / "bench" / "results"


def audit(url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        subprocess.run(
            [NPX, "--yes", LIGHTHOUSE, url, "--quiet", "--output=json", f"--output-path={report}",
             f"--only-categories={','.join(CATEGORIES)}", "--chrome-flags=--headless=new --no-sandbox --disable-gpu"],
            check=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=300,
        )  # fmt: skip
        result = json.loads(report.read_text())
    scores = {name: round(result["categories"][name]["score"] * 100) for name in CATEGORIES}
    failed = sorted(
        audit_id
        for name in CATEGORIES
        for ref in result["categories"][name]["auditRefs"]
        if ref["weight"] > 0 and (audit_id := ref["id"]) in result["audits"]
        and result["audits"][audit_id]["score"] is not None and result["audits"][audit_id]["score"] < 1
    )  # fmt: skip
    return {"lighthouse": result["lighthouseVersion"], "url": url, "scores": scores, "audits_not_passed": failed}


def main() -> dict[str, Any]:
    ensure_synth()
    site = LocalModeProcess().start()
    try:
        measured = audit(site.web_url)
    finally:
        site.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "lighthouse.json").write_text(json.dumps(measured, indent=2) + "\n")
    print(json.dumps(measured, indent=2))
    return measured


if __name__ == "__main__":
    main()
