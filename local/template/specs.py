"""What local mode reads of each emulated resource in the template, resolved to local values: a table,
a function, the WebSocket API and its routes, a state machine, a rule, a permission, an SDK call."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TableSpec:
    name: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    ttl_attribute: str | None
    global_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: Path
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    runtime: str = "python3.14"
    role: str | None = None  # logical id of its execution role


@dataclass
class AuthorizerSpec:
    function: str  # logical id of the authorizer function
    identity_source: list[str]  # e.g. ["route.request.querystring.token"]
    authorizer_id: str = ""  # its id (the logical id here): API Gateway invokes it with it in the SourceArn


@dataclass
class RouteSpec:
    route_key: str
    function: str  # logical id of the integrated function
    return_response: bool
    authorizer: AuthorizerSpec | None = None


@dataclass
class WebSocketApiSpec:
    route_selection_expression: str
    stage_name: str
    callback_url: str  # the management endpoint as the template spells it (resolved)
    routes: dict[str, RouteSpec]


@dataclass
class StateMachineSpec:
    name: str
    arn: str
    type: str
    definition: str
    role_arn: str
    role: str | None = None  # logical id of its role


@dataclass
class RuleTargetSpec:
    target_id: str
    arn: str  # e.g. a function's ARN
    dead_letter_queue: str | None = None  # the queue's name (local id)
    max_event_age_seconds: int = 24 * 3600
    retry_attempts: int = 185


@dataclass
class RuleSpec:
    name: str
    arn: str
    bus: str  # the event bus's name
    event_pattern: dict[str, Any]
    enabled: bool
    targets: list[RuleTargetSpec]


@dataclass
class PermissionSpec:
    """A statement of a function's resource-based policy (AWS::Lambda::Permission)."""

    function: str  # logical id of the function
    action: str
    principal: str
    source_arn: str | None = None


@dataclass
class AsyncInvokeSpec:
    """How Lambda handles a function's asynchronous invocations (AWS::Lambda::EventInvokeConfig)."""

    function: str  # logical id
    maximum_retry_attempts: int = 2
    on_failure: str | None = None  # a destination's ARN (an SQS queue here)


@dataclass
class SdkCallSpec:
    logical_id: str
    service: str
    action: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class ResponseHeaders:
    """What a CloudFront behaviour adds to the responses of the paths `pattern` matches: `headers`
    always, `cors` to a request that names its Origin (as CloudFront does)."""

    pattern: str
    headers: dict[str, str]
    cors: dict[str, str]
