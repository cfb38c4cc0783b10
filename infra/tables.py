"""DynamoDB: connections, trackings, orders and the watchers of live orders, each on-demand with TTL.

In production (`production` context, on by default for stage prod) the tables keep their data:
point-in-time recovery, deletion protection, and RETAIN when the stack is deleted. In dev they are
disposable: `make destroy` removes them."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.compliance import acknowledge

TTL_ATTRIBUTE = "expiresAt"
CONNECTIONS_BY_CUSTOMER = "byCustomer"


class Tables(Construct):
    """The four tables. Key names are part of the handlers' contract (the stores of lambdas/order_tracking:
    connections/store.py, simulated/trackings.py, orders/catalog.py, live/streams.py, live/watchers.py)."""

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
        # One item per order: its owner and its event list. Seed orders are loaded at deploy (SeedOrders)
        # and never expire; a live order is created by its first published event and expires the
        # retention period after its last one.
        self.orders = self._table("Orders", "orderId")
        # One item per connection watching a live order, keyed by the order: whom a publish reaches.
        self.watchers = self._table("Watchers", "orderId", sort_key="connectionId")
        connections_id = Stack.of(self).get_logical_id(self._cfn(self.connections))
        acknowledge(
            Stack.of(self),
            f"IAM5[Resource::<{connections_id}.Arn>/index/*]",
            f"CDK's Table.grant covers a table's indexes as index/*; the connections table has one "
            f"({CONNECTIONS_BY_CUSTOMER}, which $connect queries to enforce the per-customer cap).",
        )
        if not production:
            acknowledge(
                self,
                "DDB3",
                "Dev tables hold demo data and trackings that expire within a day; production "
                "(-c production=true, default for stage prod) turns point-in-time recovery on.",
            )

    # Least privilege: each handler gets the calls it makes (the stores of lambdas/order_tracking), on the
    # tables it touches.
    def grant_connect(self, grantee: iam.IGrantable) -> None:
        self.connections.grant(grantee, "dynamodb:PutItem", "dynamodb:Query")

    def grant_disconnect(self, grantee: iam.IGrantable) -> None:
        self.connections.grant(grantee, "dynamodb:DeleteItem")
        self.trackings.grant(grantee, "dynamodb:UpdateItem")
        self.watchers.grant(grantee, "dynamodb:DeleteItem")

    def grant_track_order(self, grantee: iam.IGrantable) -> None:
        self.connections.grant(grantee, "dynamodb:GetItem", "dynamodb:UpdateItem")
        self.trackings.grant(grantee, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
        self.orders.grant(grantee, "dynamodb:GetItem")
        self.watchers.grant(grantee, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")

    def grant_publish(self, grantee: iam.IGrantable) -> None:
        # the append with its fan-out lease, the lease's renewal and release, a new stream over an expired one
        self.orders.grant(grantee, "dynamodb:UpdateItem", "dynamodb:PutItem")
        self.watchers.grant(grantee, "dynamodb:Query", "dynamodb:GetItem", "dynamodb:DeleteItem")

    def grant_emit(self, grantee: iam.IGrantable) -> None:
        self.trackings.grant(grantee, "dynamodb:UpdateItem")  # the append with its send lease, the release

    @staticmethod
    def _cfn(table: dynamodb.Table) -> dynamodb.CfnTable:
        child = table.node.default_child
        assert isinstance(child, dynamodb.CfnTable)
        return child

    def _table(self, construct_id: str, partition_key: str, sort_key: str | None = None) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING) if sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=self.production
            ),
            deletion_protection=self.production,
            removal_policy=RemovalPolicy.RETAIN if self.production else RemovalPolicy.DESTROY,
        )
