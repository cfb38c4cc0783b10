"""Reads the synthesized deployment (`cdk.out/`) and resolves it to local values.

Local mode runs what this module finds in the template, not a second wiring: tables with their keys
and TTL, each function's handler, code directory and environment, the WebSocket routes, the state
machine definition and the `Custom::AWS` SDK calls that seed data. `Ref`, `Fn::GetAtt`, `Fn::Join`,
`Fn::Sub` and `Fn::Select` resolve to local names, with the account and region below.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from local.template.names import API_ID, EMULATED_TYPES, HANDLER_PACKAGE, REGION, rule_arn
from local.template.resolver import EndpointResolver, Resolver
from local.template.specs import (
    AsyncInvokeSpec,
    AuthorizerSpec,
    FunctionSpec,
    PermissionSpec,
    ResponseHeaders,
    RouteSpec,
    RuleSpec,
    RuleTargetSpec,
    SdkCallSpec,
    StateMachineSpec,
    TableSpec,
    WebSocketApiSpec,
)


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

    def client_response_headers(self, websocket_endpoint: str) -> list[ResponseHeaders]:
        """The headers the hosted client's CloudFront behaviours add, each behaviour's path pattern
        with its response headers policy as HTTP headers, the most specific first and the default
        behaviour ("*") last; this API's endpoint (in the CSP) resolved to `websocket_endpoint`."""
        distributions = self._of_type("AWS::CloudFront::Distribution")
        if not distributions:
            return []
        ((_, distribution),) = distributions.items()
        config = distribution["Properties"]["DistributionConfig"]
        resolver = EndpointResolver(self.resources, self.stack_name, websocket_endpoint)
        behaviours = [*config.get("CacheBehaviors", []), {**config["DefaultCacheBehavior"], "PathPattern": "*"}]
        found = []
        for behaviour in behaviours:
            policy_id = behaviour.get("ResponseHeadersPolicyId", {})
            policy = self.resources.get(policy_id.get("Ref", "")) if isinstance(policy_id, dict) else None
            if policy is not None:
                policy_config = policy["Properties"]["ResponseHeadersPolicyConfig"]
                found.append(response_headers(behaviour["PathPattern"], policy_config, resolver))
        return found

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


def response_headers(pattern: str, config: dict[str, Any], resolver: EndpointResolver) -> ResponseHeaders:
    security = config.get("SecurityHeadersConfig", {})
    headers = {}
    if "ContentSecurityPolicy" in security:
        headers["Content-Security-Policy"] = resolver.resolve(security["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    if "ContentTypeOptions" in security:
        headers["X-Content-Type-Options"] = "nosniff"
    if "FrameOptions" in security:
        headers["X-Frame-Options"] = security["FrameOptions"]["FrameOption"]
    if "ReferrerPolicy" in security:
        headers["Referrer-Policy"] = security["ReferrerPolicy"]["ReferrerPolicy"]
    if "StrictTransportSecurity" in security:
        hsts = security["StrictTransportSecurity"]
        value = f"max-age={hsts['AccessControlMaxAgeSec']}"
        value += "; includeSubDomains" if hsts.get("IncludeSubdomains") else ""
        headers["Strict-Transport-Security"] = value + ("; preload" if hsts.get("Preload") else "")
    cors = {}
    if "CorsConfig" in config:
        allowed = config["CorsConfig"]
        cors["Access-Control-Allow-Origin"] = ", ".join(allowed["AccessControlAllowOrigins"]["Items"])
        cors["Access-Control-Allow-Methods"] = ", ".join(allowed["AccessControlAllowMethods"]["Items"])
        cors["Access-Control-Allow-Headers"] = ", ".join(allowed["AccessControlAllowHeaders"]["Items"])
        if allowed.get("AccessControlAllowCredentials"):
            cors["Access-Control-Allow-Credentials"] = "true"
    return ResponseHeaders(pattern, headers, cors)
