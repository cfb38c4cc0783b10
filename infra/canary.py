"""The smoke checks that need only the endpoint, run by CloudWatch Synthetics every 5 minutes
(`-c canary=true`; off by default: a canary costs about $0.0012 a run, $10 a month), so a broken
deployment pages between deploys, not only when someone runs `make smoke`. Its runs' success
percentage has an alarm on the stack's alarm topic (infra/monitoring.py).

The canary's code is smoke/ (smoke/canary.py is its handler), bundled at synth with what it imports:
the handlers' token code (lambdas/order_tracking), the seed orders' data, PyJWT and websockets.
"""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, Duration, ILocalBundling, RemovalPolicy, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_synthetics as synthetics
from constructs import Construct

from infra.authentication import Authentication
from infra.compliance import acknowledge
from infra.config import StackConfig
from infra.realtime_api import RealtimeApi

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = synthetics.Runtime.SYNTHETICS_PYTHON_SELENIUM_7_0
HANDLER_MODULE = "order_tracking_canary"  # python/order_tracking_canary.py in the bundle
SCHEDULE = Duration.minutes(5)


@jsii.implements(ILocalBundling)
class _CanaryBundle:
    """python/ holding smoke/, infra's seed data, lambdas/order_tracking/, jwt and websockets, and the
    one-line module Synthetics calls. No Docker, no download, nothing vendored into the repository."""

    def try_bundle(self, output_dir: str, *_args: Any, **_options: Any) -> bool:
        python = Path(output_dir) / "python"
        # Pure Python: a compiled extension is this machine's; websockets falls back without its C speed-up.
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so")
        shutil.copytree(ROOT / "smoke", python / "smoke", ignore=ignore)
        (python / "infra").mkdir(parents=True)
        for name in ("__init__.py", "seed_data.py", "seed_orders.json"):
            shutil.copy2(ROOT / "infra" / name, python / "infra" / name)
        shutil.copytree(ROOT / "lambdas" / "order_tracking", python / "order_tracking", ignore=ignore)
        for package in ("jwt", "websockets"):
            shutil.copytree(Path(str(importlib.import_module(package).__file__)).parent, python / package, ignore=ignore)
        (python / f"{HANDLER_MODULE}.py").write_text("from smoke.canary import handler  # noqa: F401\n")
        return True


class SmokeCanary(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        api: RealtimeApi,
        auth: Authentication,
    ) -> None:
        super().__init__(scope, construct_id)
        signing_secret = auth.signing_secret
        removal_policy = config.removal_policy
        artifacts = s3.Bucket(
            self,
            "Artifacts",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(30))],
            removal_policy=removal_policy,
            auto_delete_objects=removal_policy == RemovalPolicy.DESTROY,
        )
        acknowledge(artifacts, "S1", "The canary's own run artifacts (logs, results), kept 30 days; no one else writes here.")
        code = synthetics.Code.from_asset(
            str(ROOT / "smoke"),
            bundling=BundlingOptions(
                image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.11"),  # unused: bundled locally
                local=_CanaryBundle(),
            ),
        )
        self.canary = synthetics.Canary(
            self,
            "Canary",
            runtime=RUNTIME,
            test=synthetics.Test.custom(code=code, handler=f"{HANDLER_MODULE}.handler"),
            schedule=synthetics.Schedule.rate(SCHEDULE),
            timeout=Duration.minutes(4),
            artifacts_bucket_location=synthetics.ArtifactsBucketLocation(bucket=artifacts),
            environment_variables={
                "WEBSOCKET_URL": api.stage.url,
                "SIGNING_SECRET_ID": signing_secret.secret_arn,
                "MIN_DELAY_SECONDS": str(config.min_delay_seconds),
                "MAX_DELAY_SECONDS": str(config.max_delay_seconds),
            },
        )
        signing_secret.grant_read(self.canary.role)
        bucket_id = Stack.of(self).get_logical_id(artifacts.node.default_child)  # type: ignore[arg-type]
        for finding, reason in (
            (
                "IAM5[Resource::*]",
                "CDK's canary role: cloudwatch:PutMetricData (limited to the CloudWatchSynthetics namespace by a "
                "condition), s3:ListAllMyBuckets and X-Ray, which have no resource-level permissions.",
            ),
            (f"IAM5[Resource::<{bucket_id}.Arn>/*]", "The canary writes its run artifacts under its own bucket."),
            (
                "IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/lambda/cwsyn-*]",
                "Synthetics names the canary's log group after the canary, which CloudFormation names: "
                "CDK's grant covers the cwsyn- prefix.",
            ),
        ):
            acknowledge(self.canary, finding, reason)
