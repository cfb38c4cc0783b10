"""The one way this stack defines a Lambda: newest Python runtime, arm64, Powertools layer, own log group."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, Duration, ILocalBundling
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.compliance import acknowledge
from infra.config import StackConfig

LAMBDAS_DIR = Path(__file__).resolve().parent.parent / "lambdas"
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
# Powertools' public layer for this runtime and architecture brings aws-lambda-powertools and pydantic,
# so the asset holds only our own code (boto3 is in the runtime). Powertools publishes the layer ARN of
# each release as a public SSM parameter; the stack names the release requirements.lock pins, so the
# code deployed is the code tested, and CloudFormation resolves the ARN in the deploy's region.
POWERTOOLS_PARAMETER = "/aws/service/powertools/python/{arch}/{runtime}/{version}"


def powertools_layer_parameter(version: str) -> str:
    return POWERTOOLS_PARAMETER.format(arch=ARCHITECTURE.name, runtime=RUNTIME.name, version=version)


SERVICE_NAME = "order-tracking"


EXCLUDE = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache"]


def lambdas_code() -> lambda_.Code:
    return lambda_.Code.from_asset(str(LAMBDAS_DIR), exclude=EXCLUDE)


@jsii.implements(ILocalBundling)
class _WithInstalledPackages:
    """Bundles `lambdas/` plus pure-Python packages copied from this environment, at the versions
    requirements.lock pins: no Docker, no download, nothing vendored into the repository."""

    def __init__(self, packages: list[str]) -> None:
        self.packages = packages

    def try_bundle(self, output_dir: str, *_args: Any, **_options: Any) -> bool:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
        shutil.copytree(LAMBDAS_DIR, output_dir, dirs_exist_ok=True, ignore=ignore)
        for name in self.packages:
            source = Path(str(importlib.import_module(name).__file__))
            if source.name == "__init__.py":  # a package: its directory
                shutil.copytree(source.parent, Path(output_dir) / name, dirs_exist_ok=True, ignore=ignore)
            else:  # a module of one file (typing_extensions)
                shutil.copy2(source, Path(output_dir) / source.name)
        return True


@jsii.implements(ILocalBundling)
class _PipInstallForLambda:
    """Installs a requirements file for the Lambda platform (arm64, this runtime) with pip: binary
    wheels only, downloaded from PyPI at synth, no Docker."""

    def __init__(self, requirements: Path) -> None:
        self.requirements = requirements

    def try_bundle(self, output_dir: str, *_args: Any, **_options: Any) -> bool:
        version = RUNTIME.name.removeprefix("python")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "-r", str(self.requirements),
             "--target", str(Path(output_dir) / "python"), "--platform", "manylinux2014_aarch64",
             "--implementation", "cp", "--python-version", version, "--only-binary=:all:"],
            check=True,
        )  # fmt: skip
        return True


def dependency_layer_code(requirements: Path) -> lambda_.Code:
    """A layer's code: the packages of `requirements` (pinned) built for arm64 Lambda."""
    return lambda_.Code.from_asset(
        str(requirements.parent),
        bundling=BundlingOptions(
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.14"),  # unused: bundled locally
            local=_PipInstallForLambda(requirements),
        ),
    )


def lambdas_code_with(*packages: str) -> lambda_.Code:
    """`lambdas/` and the named pure-Python packages (for a function that needs more than the layer)."""
    return lambda_.Code.from_asset(
        str(LAMBDAS_DIR),
        exclude=EXCLUDE,
        bundling=BundlingOptions(
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.14"),  # unused: bundled locally
            local=_WithInstalledPackages(list(packages)),
        ),
    )


class HandlerFunctions(Construct):
    """Creates the stack's functions, all from one asset: `add` returns a function running
    `handlers.<module>.handler`, and `all` names every function made (for the dashboard and alarms)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self._code = lambdas_code()
        self._log_retention = config.log_retention
        self._removal_policy = config.removal_policy
        self._metrics_namespace = config.metrics_namespace
        # A region or release without the parameter (it has happened) takes `-c powertoolsLayerArn=...`.
        layer_arn = config.powertools_layer_arn or ssm.StringParameter.value_for_string_parameter(
            self, powertools_layer_parameter(config.powertools_version)
        )
        self._layer = lambda_.LayerVersion.from_layer_version_arn(self, "PowertoolsLayer", layer_arn)
        self.all: dict[str, lambda_.Function] = {}  # "TrackOrder": the TrackOrderFunction, ...

    def add(
        self,
        construct_id: str,
        module: str,
        environment: dict[str, str],
        *,
        timeout_seconds: int = 10,
        code: lambda_.Code | None = None,
        reserved_concurrency: int | None = None,
    ) -> lambda_.Function:
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            retention=self._log_retention,
            removal_policy=self._removal_policy,
        )
        # An own role that may write to this function's log group only (no AWS managed policy).
        role = iam.Role(self, f"{construct_id}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        log_group.grant_write(role)
        acknowledge(
            role,
            "IAM5[Resource::*]",
            "X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) has no resource-level permissions.",
        )
        function = lambda_.Function(
            self,
            construct_id,
            role=role,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=f"handlers.{module}.handler",
            code=code or self._code,
            layers=[self._layer],
            memory_size=256,
            timeout=Duration.seconds(timeout_seconds),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            reserved_concurrent_executions=reserved_concurrency or None,
            environment={
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                "POWERTOOLS_METRICS_NAMESPACE": self._metrics_namespace,
                **environment,
            },
        )
        self.all[construct_id.removesuffix("Function")] = function
        return function
