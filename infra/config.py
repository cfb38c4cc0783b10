"""The stack's configuration, read from CDK context in one typed place.

Every value can be overridden on the command line, e.g. `cdk deploy -c maxDelaySeconds=5`.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

# An EXPRESS execution may run at most 5 minutes; the longest seed order has 3 waits.
EXPRESS_LIMIT_SECONDS = 300
LONGEST_ORDER_WAITS = 3


@dataclass(frozen=True)
class StackConfig:
    stage: str
    min_delay_seconds: int
    max_delay_seconds: int
    powertools_layer_version: int
    throttle_rate_limit: int
    throttle_burst_limit: int
    retention_hours: int
    max_connections_per_customer: int = 10
    oidc_issuer: str = ""  # set: the authorizer accepts the issuer's RS256 ID tokens instead of our own
    oidc_audience: str = ""
    oidc_jwks_url: str = ""
    production: bool = False  # keep data: PITR, deletion protection, RETAIN; reserved concurrency on emit
    alarm_email: str = ""  # set: alarms are also sent to this address (SNS email subscription)
    emit_reserved_concurrency: int = 0  # 0: none

    @property
    def metrics_namespace(self) -> str:
        return f"OrderTracking/{self.stage}"

    @property
    def jwks_url(self) -> str:
        """The issuer's key set; Cognito and most OIDC providers serve it here."""
        return self.oidc_jwks_url or f"{self.oidc_issuer.rstrip('/')}/.well-known/jwks.json"

    @classmethod
    def from_context(cls, scope: Construct) -> StackConfig:
        ctx = scope.node.try_get_context
        stage = str(ctx("stage") or "dev")
        production = _flag(ctx("production"), default=stage == "prod")
        config = cls(
            stage=stage,
            min_delay_seconds=int(ctx("minDelaySeconds") if ctx("minDelaySeconds") is not None else 3),
            max_delay_seconds=int(ctx("maxDelaySeconds") if ctx("maxDelaySeconds") is not None else 10),
            powertools_layer_version=int(ctx("powertoolsLayerVersion") or 27),
            throttle_rate_limit=int(ctx("throttleRateLimit") or 100),
            throttle_burst_limit=int(ctx("throttleBurstLimit") or 200),
            retention_hours=int(ctx("retentionHours") or 24),
            max_connections_per_customer=int(ctx("maxConnectionsPerCustomer") or 10),
            oidc_issuer=str(ctx("oidcIssuer") or ""),
            oidc_audience=str(ctx("oidcAudience") or ""),
            oidc_jwks_url=str(ctx("oidcJwksUrl") or ""),
            production=production,
            alarm_email=str(ctx("alarmEmail") or ""),
            emit_reserved_concurrency=int(
                ctx("emitReservedConcurrency") if ctx("emitReservedConcurrency") is not None else (50 if production else 0)
            ),
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
        if not self.stage.isalnum():
            raise ValueError(f"stage must be alphanumeric, got {self.stage!r}")


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
