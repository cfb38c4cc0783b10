"""The API Gateway WebSocket API: routes chosen by the frame's `type`, one Lambda per route, with
stage throttling and JSON access logs (never the query string: it carries the token)."""

from __future__ import annotations

import json

import jsii
from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.compliance import acknowledge
from infra.config import StackConfig

ROUTE_SELECTION_EXPRESSION = "$request.body.type"
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "connectionId": "$context.connectionId",
    "eventType": "$context.eventType",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "requestTime": "$context.requestTimeEpoch",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "error": "$context.error.message",
    "authorizerError": "$context.authorizer.error",
    "customerId": "$context.authorizer.customerId",
    "sourceIp": "$context.identity.sourceIp",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """Where and in which format the stage writes its access logs (WebSocketStage's own property)."""

    def __init__(self, destination: apigwv2.IAccessLogDestination, format: apigw.AccessLogFormat) -> None:  # noqa: A002
        self._destination = destination
        self._format = format

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return self._format


class RealtimeApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        stage_name = config.stage
        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            api_name=f"order-tracking-{stage_name}",
            description="Real-time order tracking (wire protocol v1)",
            route_selection_expression=ROUTE_SELECTION_EXPRESSION,
        )
        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=config.log_retention, removal_policy=config.removal_policy)
        self.stage = apigwv2.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=stage_name,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=config.throttle_rate_limit, burst_limit=config.throttle_burst_limit),
            access_log_settings=_AccessLogSettings(
                apigwv2.LogGroupLogDestination(self.access_logs), apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT))
            ),
        )
        cfn_stage = self.stage.node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        # API Gateway writes access logs with the account's CloudWatch role (one per account and
        # region); this sets it, as RestApi(cloud_watch_role=True) does.
        role = iam.Role(
            self,
            "CloudWatchRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonAPIGatewayPushToCloudWatchLogs")
            ],
        )
        acknowledge(
            role,
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            "The AWS managed policy made for API Gateway's account-wide logging role; it can only write logs.",
        )
        # Both stay when the stack goes: other stages and APIs of the account write through this role.
        role.apply_removal_policy(RemovalPolicy.RETAIN)
        account = apigw.CfnAccount(self, "Account", cloud_watch_role_arn=role.role_arn)
        account.apply_removal_policy(RemovalPolicy.RETAIN)
        cfn_stage.node.add_dependency(account)
        self._management_acknowledged = False

    def grant_post_to_connections(self, grantee: iam.IGrantable) -> None:
        """`POST @connections/{id}` on this stage, and no other method (the handlers never GET or
        DELETE a connection); the connection ids exist only at run time."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["execute-api:ManageConnections"],
            resource_arns=[
                Stack.of(self).format_arn(
                    service="execute-api",
                    resource=self.api.api_id,
                    resource_name=f"{self.stage.stage_name}/POST/@connections/*",
                )
            ],
        )
        if not self._management_acknowledged:
            stack = Stack.of(self)
            api_id = stack.get_logical_id(self._cfn_api())
            acknowledge(
                stack,
                f"IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<{api_id}>/"
                f"{self.stage.stage_name}/POST/@connections/*]",
                "Connection ids are created at run time; the grant is limited to this API, this stage, POST and "
                "the @connections path.",
            )
            self._management_acknowledged = True

    def _cfn_api(self) -> apigwv2.CfnApi:
        child = self.api.node.default_child
        assert isinstance(child, apigwv2.CfnApi)
        return child

    @property
    def connections_endpoint(self) -> str:
        """The connection management API (`POST @connections/{id}`) of this stage, as https URL."""
        return self.stage.callback_url

    @property
    def environment(self) -> dict[str, str]:
        """What a handler that posts to connections is told (it is granted the post itself)."""
        return {"CONNECTIONS_ENDPOINT": self.connections_endpoint}

    def add_route(
        self,
        route_key: str,
        handler: lambda_.IFunction,
        *,
        return_response: bool = False,
        authorizer: apigwv2.IWebSocketRouteAuthorizer | None = None,
    ) -> None:
        """Route `route_key` to `handler`; with `return_response`, the handler's body goes back to the
        client. Only $connect can have an authorizer (WebSocket APIs authorize the handshake)."""
        integration = integrations.WebSocketLambdaIntegration(f"{route_key.strip('$')}Integration", handler)
        if route_key == "$connect":
            self.api.add_route(route_key, integration=integration, authorizer=authorizer)
        else:
            self.api.add_route(route_key, integration=integration, return_response=return_response)
