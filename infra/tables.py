"""DynamoDB: connections, trackings and orders, each on-demand with TTL.

In production (`production` context, on by default for stage prod) the tables keep their data:
point-in-time recovery, deletion protection, and RETAIN when the stack is deleted. In dev they are
disposable: `make destroy` removes them."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.compliance import acknowledge

TTL_ATTRIBUTE = "expiresAt"
CONNECTIONS_BY_CUSTOMER = "byCustomer"


class Tables(Construct):
    """The three tables. Key names are part of the handlers' contract (lambdas/order_tracking/store.py)."""

    def __init__(self, scope: Construct, construct_id: str, *, production: bool) -> None:
        super().__init__(scope, construct_id)
        self.production = production
        # One item per open WebSocket connection: its customer and its current tracking.
        self.connections = self._table("Connections", "connectionId")
        # Open connections per customer, for the per-customer cap at $connect.
        self.connections.add_global_secondary_index(
            index_name=CONNECTIONS_BY_CUSTOMER,
            partition_key=dynamodb.Attribute(name="customerId", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        # One item per tracking: its connection, its execution, next seq and the events emitted so far.
        self.trackings = self._table("Trackings", "trackingId")
        # One item per order: its owner and its event list (seeded at deploy by SeedOrders).
        self.orders = self._table("Orders", "orderId", ttl=False)
        if not production:
            acknowledge(
                self,
                "DDB3",
                "Dev tables hold demo data and trackings that expire within a day; production "
                "(-c production=true, default for stage prod) turns point-in-time recovery on.",
            )

    def _table(self, construct_id: str, partition_key: str, ttl: bool = True) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TTL_ATTRIBUTE if ttl else None,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=self.production
            ),
            deletion_protection=self.production,
            removal_policy=RemovalPolicy.RETAIN if self.production else RemovalPolicy.DESTROY,
        )
