"""Intrinsic functions of the template resolved to local values: `Ref`, `Fn::GetAtt`, `Fn::Join`,
`Fn::Sub` and `Fn::Select`, with the account and region of names.py."""

from __future__ import annotations

import re
from typing import Any

from local.template.names import ACCOUNT_ID, API_ID, GET_ATT_ARN_KINDS, REGION, local_arn, queue_url, rule_arn


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


class EndpointResolver(Resolver):
    """Resolves an API's `ApiEndpoint` (wss://{api}.execute-api...) to the local WebSocket endpoint."""

    def __init__(self, resources: dict[str, Any], stack_name: str, websocket_endpoint: str) -> None:
        super().__init__(resources, stack_name)
        self.websocket_endpoint = websocket_endpoint

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "ApiEndpoint" and self.resources[logical_id]["Type"] == "AWS::ApiGatewayV2::Api":
            return self.websocket_endpoint
        return super().get_att(logical_id, attribute)
