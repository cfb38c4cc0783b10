"""Reads the synthesized deployment (`cdk.out/`) and resolves it to local values.

Local mode runs what this module finds in the template, not a second wiring: tables with their keys
and TTL, each function's handler, code directory and environment, the WebSocket routes, the state
machine definition and the `Custom::AWS` SDK calls that seed data. `Ref`, `Fn::GetAtt`, `Fn::Join`,
`Fn::Sub` and `Fn::Select` resolve to local names, with the account and region below.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
API_ID = "local"
HANDLER_PACKAGE = "handlers."  # lambdas/handlers: our functions' handlers all live there
# What local mode runs from a template; everything else (hosting, alarms, logs...) it leaves out.
# IAM roles and policies are not created but enforced: see local/iam.py.
EMULATED_TYPES = {
    "AWS::DynamoDB::Table",
    "AWS::Lambda::Function",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
    "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::RouteResponse",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::Authorizer",
    "AWS::StepFunctions::StateMachine",
    "AWS::SecretsManager::Secret",
    "AWS::SQS::Queue",
    "Custom::AWS",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::Events::EventBus",
    "AWS::Events::Rule",
    "AWS::Lambda::Permission",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::CloudWatch::Alarm",
    "AWS::SNS::Topic",
}


# The ARN of a resource of each kind named `name` here is the prefix followed by the name.
ARN_PREFIXES = {
    "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/",
    "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:",
    "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT_ID}:role/",
    "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:",
    "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:",
    "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:",
    "AWS::StepFunctions::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:",
    "AWS::Events::EventBus": f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/",
    "AWS::Events::Rule": f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/",  # then the bus's name and "/" (not for the default bus)
    "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:",
}
# Kinds whose ARN a template reads with Fn::GetAtt (the others' Ref is their ARN on AWS).
GET_ATT_ARN_KINDS = {"AWS::DynamoDB::Table", "AWS::Lambda::Function", "AWS::IAM::Role", "AWS::Logs::LogGroup", "AWS::SQS::Queue"}


def local_arn(kind: str, name_or_arn: str) -> str:
    """The ARN of the local resource of `kind` named `name_or_arn` (an ARN is returned as it is)."""
    return name_or_arn if name_or_arn.startswith("arn:") else ARN_PREFIXES[kind] + name_or_arn


def queue_url(name: str) -> str:
    """The URL of the local SQS queue `name` (as AWS spells it; moto finds a queue by the name in it)."""
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{name}"


def rule_arn(bus: str, name: str) -> str:
    """An EventBridge rule's ARN: a rule on the default bus has none of the bus in it."""
    return ARN_PREFIXES["AWS::Events::Rule"] + ("" if bus == "default" else f"{bus}/") + name


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


class Resolver:
    """Resolves CloudFormation intrinsics against one template with local physical ids."""

    def __init__(self, resources: dict[str, Any], stack_name: str) -> None:
        self.resources = resources
        self.pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack_name,
            "AWS::NoValue": None,
        }

    def ref(self, logical_id: str) -> str:
        if logical_id in self.pseudo:
            return str(self.pseudo[logical_id])
        kind = self.resources[logical_id]["Type"]
        if kind == "AWS::StepFunctions::StateMachine":
            return local_arn(kind, logical_id)
        if kind == "AWS::ApiGatewayV2::Api":
            return API_ID
        if kind == "AWS::SecretsManager::Secret":
            return logical_id  # its name: Secrets Manager takes a name wherever AWS passes the ARN
        if kind == "AWS::SQS::Queue":
            return queue_url(logical_id)
        if kind == "AWS::ApiGatewayV2::Stage":
            return str(self.resources[logical_id]["Properties"]["StageName"])
        if kind == "AWS::Events::EventBus":
            return str(self.resources[logical_id]["Properties"].get("Name", logical_id))
        if kind == "AWS::SNS::Topic":
            return local_arn(kind, logical_id)  # a topic's Ref is its ARN
        return logical_id  # tables, functions, roles, log groups, rules: named by their logical id

    def get_att(self, logical_id: str, attribute: str) -> str:
        kind = self.resources[logical_id]["Type"]
        if attribute == "Arn" and kind in GET_ATT_ARN_KINDS:
            return local_arn(kind, logical_id)
        if kind == "AWS::Events::EventBus" and attribute in ("Arn", "Name"):
            name = self.ref(logical_id)
            return local_arn(kind, name) if attribute == "Arn" else name
        if kind == "AWS::Events::Rule" and attribute == "Arn":
            return rule_arn(self.rule_bus(logical_id), logical_id)
        if kind == "AWS::SQS::Queue" and attribute == "QueueName":
            return logical_id
        if kind == "AWS::SNS::Topic" and attribute in ("TopicArn", "TopicName"):
            return local_arn(kind, logical_id) if attribute == "TopicArn" else logical_id
        raise KeyError(f"Fn::GetAtt {logical_id}.{attribute} ({kind}) has no local value")

    def rule_bus(self, logical_id: str) -> str:
        """The name of the bus rule `logical_id` is on ("default" when the rule names none)."""
        bus = self.resources[logical_id]["Properties"].get("EventBusName")
        return "default" if bus is None else str(self.resolve(bus)).rsplit("/", 1)[-1]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Join":
                separator, parts = arg
                return separator.join(str(self.resolve(p)) for p in self.resolve(parts))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Sub":
                return self._sub(arg)
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] in self.resources:
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return re.sub(r"\$\{([^!}][^}]*)\}", replace, text)


class _EndpointResolver(Resolver):
    """Resolves an API's `ApiEndpoint` (wss://{api}.execute-api...) to the local WebSocket endpoint."""

    def __init__(self, resources: dict[str, Any], stack_name: str, websocket_endpoint: str) -> None:
        super().__init__(resources, stack_name)
        self.websocket_endpoint = websocket_endpoint

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "ApiEndpoint" and self.resources[logical_id]["Type"] == "AWS::ApiGatewayV2::Api":
            return self.websocket_endpoint
        return super().get_att(logical_id, attribute)


class SynthesizedStack:
    """One stack of a cloud assembly, resolved for local use."""

    def __init__(self, cdk_out: Path, template: dict[str, Any], stack_name: str) -> None:
        self.cdk_out = cdk_out
        self.template = template
        self.resources: dict[str, Any] = template["Resources"]
        self.stack_name = stack_name
        self.resolver = Resolver(self.resources, stack_name)

    @classmethod
    def load(cls, cdk_out: Path) -> SynthesizedStack:
        manifest = json.loads((cdk_out / "manifest.json").read_text())
        stacks = [
            (name, artifact) for name, artifact in manifest["artifacts"].items() if artifact["type"] == "aws:cloudformation:stack"
        ]
        if len(stacks) != 1:
            raise ValueError(f"expected one stack in {cdk_out}, found {[name for name, _ in stacks]}")
        name, artifact = stacks[0]
        template = json.loads((cdk_out / artifact["properties"]["templateFile"]).read_text())
        return cls(cdk_out, template, name)

    def _of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {lid: r for lid, r in self.resources.items() if r["Type"] == kind}

    def tables(self) -> list[TableSpec]:
        specs = []
        for logical_id, resource in self._of_type("AWS::DynamoDB::Table").items():
            props = self.resolver.resolve(resource["Properties"])
            ttl = props.get("TimeToLiveSpecification") or {}
            specs.append(
                TableSpec(
                    name=self.resolver.ref(logical_id),
                    key_schema=props["KeySchema"],
                    attribute_definitions=props["AttributeDefinitions"],
                    ttl_attribute=ttl.get("AttributeName") if ttl.get("Enabled") else None,
                    global_secondary_indexes=props.get("GlobalSecondaryIndexes", []),
                )
            )
        return specs

    def functions(self) -> dict[str, FunctionSpec]:
        """Every function running one of our handlers (`handlers.*`) from an asset of this assembly;
        CDK's own providers (custom resources, the client's BucketDeployment) run only at deploy."""
        specs = {}
        for logical_id, resource in self._of_type("AWS::Lambda::Function").items():
            props = resource["Properties"]
            if not str(props.get("Handler", "")).startswith(HANDLER_PACKAGE):
                continue
            asset_dir = self.cdk_out / f"asset.{str(props['Code'].get('S3Key', '')).removesuffix('.zip')}"
            if not asset_dir.is_dir():
                continue
            specs[logical_id] = FunctionSpec(
                logical_id=logical_id,
                name=logical_id,
                arn=self.resolver.get_att(logical_id, "Arn"),
                handler=props["Handler"],
                code_dir=asset_dir.resolve(),
                environment={
                    k: str(v) for k, v in self.resolver.resolve(props.get("Environment", {}).get("Variables", {})).items()
                },
                timeout_seconds=int(props.get("Timeout", 3)),
                memory_mb=int(props.get("MemorySize", 128)),
                runtime=str(props["Runtime"]),
                role=_logical_id_of_arn(props.get("Role")),
            )
        return specs

    def websocket_api(self) -> WebSocketApiSpec:
        ((api_id, api),) = self._of_type("AWS::ApiGatewayV2::Api").items()
        ((_, stage),) = self._of_type("AWS::ApiGatewayV2::Stage").items()
        integrations = {
            lid: self._function_of_integration(r["Properties"]["IntegrationUri"])
            for lid, r in self._of_type("AWS::ApiGatewayV2::Integration").items()
        }
        responses = {r["Properties"]["RouteId"]["Ref"] for r in self._of_type("AWS::ApiGatewayV2::RouteResponse").values()}
        authorizers = {
            lid: AuthorizerSpec(
                function=self._function_of_integration(r["Properties"]["AuthorizerUri"]),
                identity_source=list(r["Properties"].get("IdentitySource", [])),
                authorizer_id=lid,
            )
            for lid, r in self._of_type("AWS::ApiGatewayV2::Authorizer").items()
        }
        routes = {}
        for logical_id, resource in self._of_type("AWS::ApiGatewayV2::Route").items():
            props = resource["Properties"]
            integration_id = self.resolver.resolve(props["Target"]).removeprefix("integrations/")
            routes[props["RouteKey"]] = RouteSpec(
                route_key=props["RouteKey"],
                function=integrations[integration_id],
                return_response=logical_id in responses,
                authorizer=authorizers[props["AuthorizerId"]["Ref"]] if "AuthorizerId" in props else None,
            )
        stage_name = stage["Properties"]["StageName"]
        return WebSocketApiSpec(
            route_selection_expression=api["Properties"]["RouteSelectionExpression"],
            stage_name=stage_name,
            callback_url=f"https://{API_ID}.execute-api.{REGION}.amazonaws.com/{stage_name}",
            routes=routes,
        )

    def _function_of_integration(self, uri: Any) -> str:
        # arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function arn}/invocations
        for part in uri["Fn::Join"][1]:
            if isinstance(part, dict) and "Fn::GetAtt" in part:
                return str(part["Fn::GetAtt"][0])
        raise ValueError(f"integration without a Lambda function: {uri}")

    def state_machines(self) -> list[StateMachineSpec]:
        specs = []
        for logical_id, resource in self._of_type("AWS::StepFunctions::StateMachine").items():
            props = resource["Properties"]
            specs.append(
                StateMachineSpec(
                    name=logical_id,
                    arn=self.resolver.ref(logical_id),
                    type=props.get("StateMachineType", "STANDARD"),
                    definition=self.resolver.resolve(props["DefinitionString"]),
                    role_arn=self.resolver.resolve(props["RoleArn"]),
                    role=_logical_id_of_arn(props.get("RoleArn")),
                )
            )
        return specs

    def queues(self) -> list[str]:
        """The names (local ids) of the stack's SQS queues."""
        return list(self._of_type("AWS::SQS::Queue"))

    def not_emulated(self) -> list[str]:
        """What local mode leaves out: whole services ("CloudFront"), or the type ("Lambda::Permission")
        where the rest of its service is emulated, and custom resources by type."""
        left_out = {r["Type"] for r in self.resources.values()} - EMULATED_TYPES
        emulated_services = {kind.split("::")[1] for kind in EMULATED_TYPES if kind.startswith("AWS::")}
        names = set()
        for kind in left_out:
            service = kind.split("::")[1]
            names.add(
                kind if kind.startswith("Custom::") else kind.removeprefix("AWS::") if service in emulated_services else service
            )
        return sorted(names)

    def client_response_headers(self, websocket_endpoint: str) -> dict[str, str]:
        """The headers the hosted client's CloudFront response headers policy adds, as HTTP headers,
        with this API's endpoint (in the CSP) resolved to `websocket_endpoint`."""
        policies = self._of_type("AWS::CloudFront::ResponseHeadersPolicy")
        if not policies:
            return {}
        ((_, policy),) = policies.items()
        config = policy["Properties"]["ResponseHeadersPolicyConfig"].get("SecurityHeadersConfig", {})
        resolver = _EndpointResolver(self.resources, self.stack_name, websocket_endpoint)
        headers = {}
        if "ContentSecurityPolicy" in config:
            headers["Content-Security-Policy"] = resolver.resolve(config["ContentSecurityPolicy"]["ContentSecurityPolicy"])
        if "ContentTypeOptions" in config:
            headers["X-Content-Type-Options"] = "nosniff"
        if "FrameOptions" in config:
            headers["X-Frame-Options"] = config["FrameOptions"]["FrameOption"]
        if "ReferrerPolicy" in config:
            headers["Referrer-Policy"] = config["ReferrerPolicy"]["ReferrerPolicy"]
        if "StrictTransportSecurity" in config:
            hsts = config["StrictTransportSecurity"]
            value = f"max-age={hsts['AccessControlMaxAgeSec']}"
            value += "; includeSubDomains" if hsts.get("IncludeSubdomains") else ""
            headers["Strict-Transport-Security"] = value + ("; preload" if hsts.get("Preload") else "")
        return headers

    def event_buses(self) -> list[str]:
        """The names of the stack's own event buses."""
        return [self.resolver.ref(lid) for lid in self._of_type("AWS::Events::EventBus")]

    def rules(self) -> list[RuleSpec]:
        specs = []
        for logical_id, resource in self._of_type("AWS::Events::Rule").items():
            props = self.resolver.resolve(resource["Properties"])
            targets = []
            for target in props.get("Targets", []):
                retry = target.get("RetryPolicy", {})
                dead_letters = target.get("DeadLetterConfig", {}).get("Arn")
                targets.append(
                    RuleTargetSpec(
                        target_id=target["Id"],
                        arn=target["Arn"],
                        dead_letter_queue=str(dead_letters).rsplit(":", 1)[-1] if dead_letters else None,
                        max_event_age_seconds=int(retry.get("MaximumEventAgeInSeconds", 24 * 3600)),
                        retry_attempts=int(retry.get("MaximumRetryAttempts", 185)),
                    )
                )
            bus = self.resolver.rule_bus(logical_id)
            specs.append(
                RuleSpec(
                    name=logical_id,
                    arn=rule_arn(bus, logical_id),
                    bus=bus,
                    event_pattern=props.get("EventPattern", {}),
                    enabled=props.get("State", "ENABLED") == "ENABLED",
                    targets=targets,
                )
            )
        return specs

    def permissions(self) -> list[PermissionSpec]:
        """Every function's resource-based policy statements (who may invoke it, from where)."""
        specs = []
        for resource in self._of_type("AWS::Lambda::Permission").values():
            props = resource["Properties"]
            function = _logical_id_of_arn(props["FunctionName"]) or str(props["FunctionName"].get("Ref", ""))
            source = props.get("SourceArn")
            specs.append(
                PermissionSpec(
                    function=function,
                    action=str(props["Action"]),
                    principal=str(props["Principal"]),
                    source_arn=str(self.resolver.resolve(source)) if source is not None else None,
                )
            )
        return specs

    def async_invoke_configs(self) -> dict[str, AsyncInvokeSpec]:
        """By function logical id: its asynchronous-invocation settings, where the template has them."""
        configs = {}
        for resource in self._of_type("AWS::Lambda::EventInvokeConfig").values():
            props = resource["Properties"]
            function = str(props["FunctionName"].get("Ref", ""))
            failure = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            configs[function] = AsyncInvokeSpec(
                function=function,
                maximum_retry_attempts=int(props.get("MaximumRetryAttempts", 2)),
                on_failure=str(self.resolver.resolve(failure)) if failure is not None else None,
            )
        return configs

    def topics(self) -> list[str]:
        """The names (local ids) of the stack's SNS topics (the alarms' actions publish there)."""
        return list(self._of_type("AWS::SNS::Topic"))

    def secrets(self) -> list[str]:
        """The names (local ids) of the stack's Secrets Manager secrets."""
        return [self.resolver.ref(lid) for lid in self._of_type("AWS::SecretsManager::Secret")]

    def sdk_calls(self) -> list[SdkCallSpec]:
        """The `on_create` calls of every AwsCustomResource, in template order."""
        calls = []
        for logical_id, resource in self._of_type("Custom::AWS").items():
            create = json.loads(self.resolver.resolve(resource["Properties"]["Create"]))
            calls.append(SdkCallSpec(logical_id, create["service"], create["action"], create.get("parameters", {})))
        return calls


def _logical_id_of_arn(value: Any) -> str | None:
    """`X` of a `{"Fn::GetAtt": ["X", "Arn"]}` (how CDK points a function or state machine at its role)."""
    if isinstance(value, dict) and isinstance(value.get("Fn::GetAtt"), list):
        return str(value["Fn::GetAtt"][0])
    return None
