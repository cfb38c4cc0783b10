"""Configuration from the environment the stack sets (see infra/stack.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEMO_CUSTOMER_ID = "demo"
# Frames larger than this are refused with bad_request (API Gateway itself stops at 128 KB).
MAX_FRAME_BYTES = 4096


@dataclass(frozen=True)
class Settings:
    connections_table: str
    trackings_table: str
    orders_table: str
    state_machine_arn: str
    connections_endpoint: str
    min_delay_seconds: int
    max_delay_seconds: int
    retention_hours: int
    signing_secret_id: str
    max_connections_per_customer: int
    oidc_issuer: str
    oidc_audience: str
    oidc_jwks_url: str

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get
        return cls(
            connections_table=env("CONNECTIONS_TABLE", ""),
            trackings_table=env("TRACKINGS_TABLE", ""),
            orders_table=env("ORDERS_TABLE", ""),
            state_machine_arn=env("STATE_MACHINE_ARN", ""),
            connections_endpoint=env("CONNECTIONS_ENDPOINT", ""),
            min_delay_seconds=int(env("MIN_DELAY_SECONDS", "3")),
            max_delay_seconds=int(env("MAX_DELAY_SECONDS", "10")),
            retention_hours=int(env("RETENTION_HOURS", "24")),
            signing_secret_id=env("SIGNING_SECRET_ID", ""),
            max_connections_per_customer=int(env("MAX_CONNECTIONS_PER_CUSTOMER", "10")),
            oidc_issuer=env("OIDC_ISSUER", ""),
            oidc_audience=env("OIDC_AUDIENCE", ""),
            oidc_jwks_url=env("OIDC_JWKS_URL", ""),
        )
