#!/usr/bin/env python3
"""CDK entry point: `cdk synth` / `cdk deploy` (or `make synth` / `make deploy`).

Also runs without the CDK CLI (`python app.py`, as local mode and the tests do): then the context of
cdk.json is read here, as the CLI would, so both ways synthesize the same template.
"""

import json
import os
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from infra.compliance import add_compliance_checks
from infra.config import StackConfig
from infra.stack import OrderTrackingStack

CDK_JSON = Path(__file__).with_name("cdk.json")


def project_context(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """cdk.json's context, then the CLI's (-c key=value, CDK_CONTEXT_JSON), then `overrides`."""
    context = dict(json.loads(CDK_JSON.read_text()).get("context", {}))
    context.update(json.loads(os.environ.get("CDK_CONTEXT_JSON") or "{}"))
    context.update(overrides or {})
    return context


def build_app(outdir: str | None = None, context: dict[str, Any] | None = None) -> cdk.App:
    app = cdk.App(outdir=outdir or os.environ.get("CDK_OUTDIR", "cdk.out"), context=project_context(context))
    config = StackConfig.from_context(app)
    OrderTrackingStack(app, f"OrderTracking-{config.stage}", config=config)
    add_compliance_checks(app)
    return app


if __name__ == "__main__":
    build_app().synth()
