"""The WebSocket routes a connection uses: each route's function, the calls it may make (least
privilege: the stores of lambdas/order_tracking it uses, on the tables it touches), and its route on
the API. $connect is authorized (infra/authentication.py); track_order starts the tracking workflow."""

from __future__ import annotations

from constructs import Construct

from infra.authentication import Authentication
from infra.config import StackConfig
from infra.handler_function import HandlerFunctions
from infra.realtime_api import RealtimeApi
from infra.tables import Tables
from infra.tracking_workflow import TrackingWorkflow

# A route's function must answer within API Gateway's 29 s integration timeout (docs/operations.md has
# each function's time budget); the others keep the default 10 s.
TRACK_ORDER_TIMEOUT_SECONDS = 25


class Routes(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        functions: HandlerFunctions,
        tables: Tables,
        api: RealtimeApi,
        workflow: TrackingWorkflow,
        auth: Authentication,
    ) -> None:
        super().__init__(scope, construct_id)
        connect = functions.add(
            "ConnectFunction",
            "connect",
            {
                **tables.environment("Connections", "Trackings"),
                "MAX_CONNECTIONS_PER_CUSTOMER": str(config.max_connections_per_customer),
            },
        )
        tables.connections.grant(connect, "dynamodb:PutItem", "dynamodb:Query")
        api.add_route("$connect", connect, authorizer=auth.authorizer)

        disconnect = functions.add("DisconnectFunction", "disconnect", tables.environment("Connections", "Trackings", "Watchers"))
        tables.connections.grant(disconnect, "dynamodb:DeleteItem")
        tables.trackings.grant(disconnect, "dynamodb:UpdateItem")
        tables.watchers.grant(disconnect, "dynamodb:DeleteItem")
        api.add_route("$disconnect", disconnect)

        track_order = functions.add(
            "TrackOrderFunction",
            "track_order",
            {
                **tables.environment("Connections", "Trackings", "Orders", "Watchers"),
                **api.environment,
                "RETENTION_SECONDS": str(config.retention_seconds),
                "STATE_MACHINE_ARN": workflow.state_machine.state_machine_arn,
                "MIN_DELAY_SECONDS": str(config.min_delay_seconds),
                "MAX_DELAY_SECONDS": str(config.max_delay_seconds),
            },
            timeout_seconds=TRACK_ORDER_TIMEOUT_SECONDS,  # a switch may wait for the previous tracking's posts
        )
        tables.connections.grant(track_order, "dynamodb:GetItem", "dynamodb:UpdateItem")
        tables.trackings.grant(track_order, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
        tables.orders.grant(track_order, "dynamodb:GetItem")
        tables.watchers.grant(track_order, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
        workflow.grant_start(track_order)
        api.grant_post_to_connections(track_order)
        api.add_route("track_order", track_order, return_response=True)

        api.add_route("ping", functions.add("PingFunction", "ping", {}), return_response=True)
        api.add_route("$default", functions.add("DefaultFunction", "default", {}), return_response=True)
