"""The stack's configuration, read from CDK context in one typed place.

Every value can be overridden on the command line, e.g. `cdk deploy -c maxDelaySeconds=5`. The
defaults are cdk.json's context, their one source: a synth from another directory, or a test that
builds the stack without cdk.json, gets the same ones.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS_LOCK = ROOT / "requirements.lock"
DEFAULTS: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]

# An EXPRESS execution may run at most 5 minutes; the longest seed order has 3 waits.
EXPRESS_LIMIT_SECONDS = 300
LONGEST_ORDER_WAITS = 3
# The stage throttle is per route; the account's own (10,000 requests/s by default) caps every stage
# and API of the account together, so a stage's can never usefully exceed this (after a quota increase,
# raise it here too).
MAX_THROTTLE = 100_000
# Account-wide names carry the stage and the region (CloudFront's origin access control allows 64 characters).
MAX_STAGE_LENGTH = 20


@dataclass(frozen=True)
class StackConfig:
    stage: str
    min_delay_seconds: int
    max_delay_seconds: int
    powertools_version: str  # the aws-lambda-powertools release the tests run: the layer deployed is that one
    throttle_rate_limit: int
    throttle_burst_limit: int
    retention_hours: int
    max_connections_per_customer: int
    oidc_issuer: str = ""  # set: the authorizer accepts the issuer's RS256 ID tokens instead of our own
    oidc_audience: str = ""
    oidc_jwks_url: str = ""
    production: bool = False  # keep data: PITR, deletion protection, RETAIN
    alarm_email: str = ""  # set: alarms are also sent to this address (SNS email subscription)
    emit_reserved_concurrency: int = 0  # 0: none (the default in every stage: see validate())
    powertools_layer_arn: str = ""  # set: this layer instead of the one Powertools publishes for the locked version
    canary: bool = False  # the smoke checks that need only the endpoint, every 5 minutes (infra/canary.py)

    @property
    def removal_policy(self) -> RemovalPolicy:
        """Production keeps its data and logs when the stack goes; dev cleans up after itself."""
        return RemovalPolicy.RETAIN if self.production else RemovalPolicy.DESTROY

    @property
    def log_retention(self) -> logs.RetentionDays:
        return logs.RetentionDays.THREE_MONTHS if self.production else logs.RetentionDays.ONE_MONTH

    @property
    def retention_seconds(self) -> int:
        """How long a tracking or a live order is kept after its last event."""
        return self.retention_hours * 3600

    @property
    def metrics_namespace(self) -> str:
        return f"OrderTracking/{self.stage}"

    @property
    def jwks_url(self) -> str:
        """The issuer's key set; Cognito and most OIDC providers serve it here."""
        return self.oidc_jwks_url or f"{self.oidc_issuer.rstrip('/')}/.well-known/jwks.json"

    @classmethod
    def from_context(cls, scope: Construct) -> StackConfig:
        def ctx(key: str) -> Any:
            value = scope.node.try_get_context(key)
            return DEFAULTS.get(key) if value is None else value

        stage = str(ctx("stage") or "dev")
        production = _flag(ctx("production"), default=stage == "prod")
        config = cls(
            stage=stage,
            min_delay_seconds=int(ctx("minDelaySeconds")),
            max_delay_seconds=int(ctx("maxDelaySeconds")),
            powertools_version=str(ctx("powertoolsVersion") or locked_version("aws-lambda-powertools")),
            powertools_layer_arn=str(ctx("powertoolsLayerArn") or ""),
            throttle_rate_limit=int(ctx("throttleRateLimit")),
            throttle_burst_limit=int(ctx("throttleBurstLimit")),
            retention_hours=int(ctx("retentionHours")),
            max_connections_per_customer=int(ctx("maxConnectionsPerCustomer")),
            oidc_issuer=str(ctx("oidcIssuer") or ""),
            oidc_audience=str(ctx("oidcAudience") or ""),
            oidc_jwks_url=str(ctx("oidcJwksUrl") or ""),
            production=production,
            alarm_email=str(ctx("alarmEmail") or ""),
            emit_reserved_concurrency=int(ctx("emitReservedConcurrency") or 0),
            canary=_flag(ctx("canary"), default=False),
        )
        config.validate()
        return config

    def validate(self) -> None:
        if not 0 <= self.min_delay_seconds <= self.max_delay_seconds:
            raise ValueError(
                f"need 0 <= minDelaySeconds <= maxDelaySeconds, got {self.min_delay_seconds}, {self.max_delay_seconds}"
            )
        if self.max_delay_seconds * LONGEST_ORDER_WAITS >= EXPRESS_LIMIT_SECONDS:
            raise ValueError(
                f"maxDelaySeconds={self.max_delay_seconds} would let a tracking outlive the "
                f"{EXPRESS_LIMIT_SECONDS} s limit of an EXPRESS execution"
            )
        if self.oidc_issuer and not (self.oidc_issuer.startswith("https://") and self.oidc_audience):
            raise ValueError("oidcIssuer must be an https:// URL and needs oidcAudience (the app client id)")
        if not (self.stage.isalnum() and len(self.stage) <= MAX_STAGE_LENGTH):
            raise ValueError(f"stage must be alphanumeric and at most {MAX_STAGE_LENGTH} characters, got {self.stage!r}")
        if not 1 <= self.throttle_rate_limit <= self.throttle_burst_limit <= MAX_THROTTLE:
            raise ValueError(
                f"need 1 <= throttleRateLimit <= throttleBurstLimit <= {MAX_THROTTLE} (the account's own throttle), "
                f"got {self.throttle_rate_limit} and {self.throttle_burst_limit}: size them from docs/scale.md"
            )
        if self.emit_reserved_concurrency < 0:
            raise ValueError("emitReservedConcurrency must be 0 (none) or more")
        if self.powertools_layer_arn and not self.powertools_layer_arn.startswith("arn:"):
            raise ValueError(f"powertoolsLayerArn must be a layer version ARN, got {self.powertools_layer_arn!r}")


def _flag(value: object, *, default: bool) -> bool:
    """A boolean from context: true/false as JSON (cdk.json) or as a string (-c production=true)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise ValueError(f"expected true or false, got {value!r}")
    return text == "true"


def locked_version(package: str, lock: Path = REQUIREMENTS_LOCK) -> str:
    """The version requirements.lock pins for `package`: what the tests and local mode run."""
    name = "[-_.]+".join(re.escape(part) for part in re.split(r"[-_.]+", package))  # pip freeze spells names its own way
    match = re.search(rf"^{name}==(\S+)$", lock.read_text(), re.MULTILINE | re.IGNORECASE)
    if match is None:
        raise ValueError(f"{lock.name} pins no {package}")
    return match.group(1)
