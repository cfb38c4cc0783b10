"""The API Gateway WebSocket API: routes chosen by the frame's `type`, one Lambda per route."""

from __future__ import annotations

from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

ROUTE_SELECTION_EXPRESSION = "$request.body.type"


class RealtimeApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage_name: str,
        throttle_rate_limit: int,
        throttle_burst_limit: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            api_name=f"order-tracking-{stage_name}",
            description="Real-time order tracking (wire protocol v1)",
            route_selection_expression=ROUTE_SELECTION_EXPRESSION,
        )
        self.stage = apigwv2.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=stage_name,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=throttle_rate_limit, burst_limit=throttle_burst_limit),
        )

    @property
    def connections_endpoint(self) -> str:
        """The connection management API (`POST @connections/{id}`) of this stage, as https URL."""
        return self.stage.callback_url

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
