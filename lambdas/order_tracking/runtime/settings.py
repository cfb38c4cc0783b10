"""Configuration from the environment the stack sets (infra/handler_function.py and the constructs that
add to it), one group per concern. A handler names the groups it needs in `SETTINGS`; `websocket_route`
and emit load them before their first request is handled, so a variable the stack forgot, misspelt
or set to something malformed fails that first invocation with SettingsError naming it, instead of
surfacing later as a call to a table named "".

The variable names are `Env`; tests/infra/test_environment.py checks that each function's environment
in the template holds exactly the variables its handler's groups read. The groups are NamedTuples
(immutable, as frozen dataclasses; about 3 ms less of every cold start to define).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from enum import StrEnum
from typing import NamedTuple, Protocol, Self, TypeVar, cast

# A resume needs the tracking for longer than a reconnect takes.
MIN_RETENTION_SECONDS = 60


class Env(StrEnum):
    CONNECTIONS_TABLE = "CONNECTIONS_TABLE"
    TRACKINGS_TABLE = "TRACKINGS_TABLE"
    ORDERS_TABLE = "ORDERS_TABLE"
    WATCHERS_TABLE = "WATCHERS_TABLE"
    PUBLISH_FAILURES_QUEUE_URL = "PUBLISH_FAILURES_QUEUE_URL"
    RETENTION_SECONDS = "RETENTION_SECONDS"
    STATE_MACHINE_ARN = "STATE_MACHINE_ARN"
    MIN_DELAY_SECONDS = "MIN_DELAY_SECONDS"
    MAX_DELAY_SECONDS = "MAX_DELAY_SECONDS"
    CONNECTIONS_ENDPOINT = "CONNECTIONS_ENDPOINT"
    MAX_CONNECTIONS_PER_CUSTOMER = "MAX_CONNECTIONS_PER_CUSTOMER"
    SIGNING_SECRET_ID = "SIGNING_SECRET_ID"  # noqa: S105 - the name of the variable that holds the secret's ARN
    OIDC_ISSUER = "OIDC_ISSUER"
    OIDC_AUDIENCE = "OIDC_AUDIENCE"
    OIDC_JWKS_URL = "OIDC_JWKS_URL"


class SettingsError(RuntimeError):
    """A variable the stack should have set is missing or malformed (a deployment defect)."""


def _text(name: Env) -> str:
    value = os.environ.get(name, "")
    if not value.strip():
        raise SettingsError(f"{name} is not set: the stack must set it for this function")
    return value


def _whole_number(name: Env, low: int, high: int) -> int:
    text = _text(name)
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {text[:40]!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


class StoreSettings(NamedTuple):
    """The connections and trackings tables."""

    connections_table: str
    trackings_table: str

    @classmethod
    def from_env(cls) -> StoreSettings:
        return cls(_text(Env.CONNECTIONS_TABLE), _text(Env.TRACKINGS_TABLE))


class RetentionSettings(NamedTuple):
    """How long trackings and live orders are kept for resume, in seconds (the stack sets its
    retentionHours; local mode may set less, e.g. for a memory soak)."""

    retention_seconds: int

    @classmethod
    def from_env(cls) -> RetentionSettings:
        return cls(_whole_number(Env.RETENTION_SECONDS, MIN_RETENTION_SECONDS, 365 * 24 * 3600))


class OrderSettings(NamedTuple):
    """The orders table: seed orders and live ones."""

    orders_table: str

    @classmethod
    def from_env(cls) -> OrderSettings:
        return cls(_text(Env.ORDERS_TABLE))


class WatcherSettings(NamedTuple):
    """The watchers table: which connections watch which live order."""

    watchers_table: str

    @classmethod
    def from_env(cls) -> WatcherSettings:
        return cls(_text(Env.WATCHERS_TABLE))


class PublishSettings(NamedTuple):
    """Where the publish function puts the publishes it refuses, with why (an SQS queue)."""

    failures_queue_url: str

    @classmethod
    def from_env(cls) -> PublishSettings:
        url = _text(Env.PUBLISH_FAILURES_QUEUE_URL)
        if not url.startswith(("https://", "http://")):
            raise SettingsError(f"{Env.PUBLISH_FAILURES_QUEUE_URL} must be a queue URL, got {url[:60]!r}")
        return cls(url)


class TrackingSettings(NamedTuple):
    """What starting a simulated tracking needs: the state machine and its delay bounds."""

    state_machine_arn: str
    min_delay_seconds: int
    max_delay_seconds: int

    @classmethod
    def from_env(cls) -> TrackingSettings:
        low = _whole_number(Env.MIN_DELAY_SECONDS, 0, 3600)
        high = _whole_number(Env.MAX_DELAY_SECONDS, 0, 3600)
        if low > high:
            raise SettingsError(f"{Env.MIN_DELAY_SECONDS} ({low}) must not exceed {Env.MAX_DELAY_SECONDS} ({high})")
        return cls(_text(Env.STATE_MACHINE_ARN), low, high)


class GatewaySettings(NamedTuple):
    """The API Gateway connection management endpoint (https://{api}.execute-api.{region}.amazonaws.com/{stage})."""

    connections_endpoint: str

    @classmethod
    def from_env(cls) -> GatewaySettings:
        endpoint = _text(Env.CONNECTIONS_ENDPOINT)
        if not endpoint.startswith(("https://", "http://")):
            raise SettingsError(f"{Env.CONNECTIONS_ENDPOINT} must be a URL, got {endpoint[:60]!r}")
        return cls(endpoint)


class ConnectionCapSettings(NamedTuple):
    max_connections_per_customer: int

    @classmethod
    def from_env(cls) -> ConnectionCapSettings:
        return cls(_whole_number(Env.MAX_CONNECTIONS_PER_CUSTOMER, 1, 2**31 - 1))


class OidcSettings(NamedTuple):
    issuer: str
    audience: str
    jwks_url: str


class TokenSettings(NamedTuple):
    """The stack's own signing key (HS256); with OIDC_ISSUER set, an OIDC issuer's RS256 tokens instead."""

    signing_secret_id: str
    oidc: OidcSettings | None

    @classmethod
    def from_env(cls) -> TokenSettings:
        secret = _text(Env.SIGNING_SECRET_ID)
        if not os.environ.get(Env.OIDC_ISSUER):
            return cls(secret, None)
        return cls(secret, OidcSettings(_text(Env.OIDC_ISSUER), _text(Env.OIDC_AUDIENCE), _text(Env.OIDC_JWKS_URL)))


class SettingsGroup(Protocol):
    @classmethod
    def from_env(cls) -> Self: ...


Group = TypeVar("Group", bound=SettingsGroup)
_loaded: dict[type[SettingsGroup], SettingsGroup] = {}


def load(group: type[Group]) -> Group:
    """One group, read and checked once per process (tests call reset() between environments)."""
    found = _loaded.get(group)
    if found is None:
        found = _loaded[group] = group.from_env()
    return cast(Group, found)


def load_all(groups: Iterable[type[SettingsGroup]]) -> None:
    """Read and check every group a handler needs: SettingsError names what is missing or malformed."""
    for group in groups:
        load(group)


def reset() -> None:
    _loaded.clear()
