#!/usr/bin/env python3
"""CDK entry point: `cdk synth` / `cdk deploy` (or `make synth` / `make deploy`)."""

import os

import aws_cdk as cdk

from infra.compliance import add_compliance_checks
from infra.config import StackConfig
from infra.stack import OrderTrackingStack


def build_app(outdir: str | None = None, context: dict | None = None) -> cdk.App:
    app = cdk.App(outdir=outdir or os.environ.get("CDK_OUTDIR", "cdk.out"), context=context)
    config = StackConfig.from_context(app)
    OrderTrackingStack(app, f"OrderTracking-{config.stage}", config=config)
    add_compliance_checks(app)
    return app


if __name__ == "__main__":
    build_app().synth()
