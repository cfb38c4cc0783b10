"""The order-tracking stack, top to bottom as the architecture reads. Each construct makes its own
functions (through HandlerFunctions, one asset and one way to define a Lambda) and grants them what
they call; this file only says what exists and what each part is given."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from infra.authentication import Authentication
from infra.canary import SmokeCanary
from infra.compliance import acknowledge_stack_findings
from infra.config import StackConfig
from infra.handler_function import HandlerFunctions
from infra.hosted_client import HostedClient
from infra.monitoring import Monitoring
from infra.order_publishing import OrderPublishing
from infra.outputs import add_outputs
from infra.realtime_api import RealtimeApi
from infra.routes import Routes
from infra.seed_orders import SeedOrders
from infra.tables import Tables
from infra.tracking_workflow import TrackingWorkflow


class OrderTrackingStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # State: connections, trackings, orders (the demo orders loaded at deploy) and live orders' watchers.
        tables = Tables(self, "Tables", production=config.production)
        SeedOrders(self, "SeedOrders", table=tables.orders, log_retention=config.log_retention)
        functions = HandlerFunctions(self, "Handlers", config=config)

        # The WebSocket API; a tracking's later events come from a Step Functions execution's emit steps.
        api = RealtimeApi(self, "Realtime", config=config)
        workflow = TrackingWorkflow(self, "Workflow", config=config, functions=functions, tables=tables, api=api)
        auth = Authentication(self, "Auth", functions=functions, config=config)
        Routes(self, "Routes", config=config, functions=functions, tables=tables, api=api, workflow=workflow, auth=auth)

        # Live orders: a shop's backend publishes on the stack's bus; each event reaches its watchers.
        publishing = OrderPublishing(self, "Publishing", config=config, functions=functions, tables=tables, api=api)

        # What a customer opens, and what tells an operator that all of the above works.
        client = HostedClient(self, "Client", config=config, api=api)
        canary = SmokeCanary(self, "Canary", config=config, api=api, auth=auth) if config.canary else None
        monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            functions=functions.all,
            api=api,
            workflow=workflow,
            tables=tables,
            publishing=publishing,
            canary=canary.canary if canary else None,
        )
        acknowledge_stack_findings(self)
        add_outputs(
            self,
            config,
            api=api,
            workflow=workflow,
            tables=tables,
            auth=auth,
            client=client,
            monitoring=monitoring,
            publishing=publishing,
        )
