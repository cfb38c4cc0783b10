"""DynamoDB: connections, trackings, orders and the watchers of live orders, each on-demand with TTL.

In production (`production` context, on by default for stage prod) the tables keep their data:
point-in-time recovery, deletion protection, and RETAIN when the stack is deleted. In dev they are
disposable: `make destroy` removes them."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
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

    @property
    def by_name(self) -> dict[str, dynamodb.Table]:
        """Each table by the name the dashboard and alarms give it."""
        return {"Connections": self.connections, "Trackings": self.trackings, "Orders": self.orders, "Watchers": self.watchers}

    def environment(self, *names: str) -> dict[str, str]:
        """The variables that tell a handler the named tables ("Orders", ...): ORDERS_TABLE=<name>, ...
        A handler's construct grants it the calls it makes on them (least privilege: table.grant)."""
        return {f"{name.upper()}_TABLE": self.by_name[name].table_name for name in names}

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
