"""Functions' resource-based policies (AWS::Lambda::Permission in the template), which Lambda checks
when a service invokes a function: API Gateway for a route or an authorizer, EventBridge for a rule's
target. A function whose policy does not name the service, with a SourceArn matching where the call
comes from, is not invoked, as on AWS, where the stack would have deployed the same gap."""

from __future__ import annotations

from local.iam.policies import wildcard_match
from local.template.names import ACCOUNT_ID, API_ID, REGION
from local.template.specs import PermissionSpec

APIGATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
EVENTS_PRINCIPAL = "events.amazonaws.com"
EXECUTE_API_ARN = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}"


def route_source_arn(stage: str, route_key: str) -> str:
    """The SourceArn with which API Gateway invokes a WebSocket route's integration."""
    return f"{EXECUTE_API_ARN}/{stage}/{route_key}"


def authorizer_source_arn(authorizer_id: str) -> str:
    """The SourceArn with which API Gateway invokes an authorizer."""
    return f"{EXECUTE_API_ARN}/authorizers/{authorizer_id}"


class LambdaPermissions:
    def __init__(self, permissions: list[PermissionSpec]) -> None:
        self.permissions = permissions

    def allows(self, function: str, principal: str, source_arn: str) -> bool:
        """Whether `principal` may invoke the function (logical id) on behalf of `source_arn`."""
        return any(
            p.function == function
            and p.action in ("lambda:InvokeFunction", "lambda:*")
            and p.principal == principal
            and (p.source_arn is None or wildcard_match(p.source_arn, source_arn))
            for p in self.permissions
        )
