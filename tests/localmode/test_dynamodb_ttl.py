"""DynamoDB's Time to Live in local mode (local/aws/dynamodb_ttl.py): what AWS would delete goes, what it
would keep stays, in moto's DynamoDB process as local mode runs it."""

from __future__ import annotations

import time

import pytest

from local.aws.dynamodb_ttl import FIVE_YEARS_SECONDS, expire_items
from tests.support.local_stack import running_stack


@pytest.fixture(scope="module")
def system(stack):
    with running_stack(stack, dynamodb_process=True) as system:
        yield system


def table_named(system, prefix: str):
    (table,) = [t for t in system.stack.tables() if t.name.startswith(prefix)]
    return table


def test_expired_items_are_deleted_and_the_rest_kept(system):
    dynamodb = system.aws.client("dynamodb")
    trackings = table_named(system, "TablesTrackings")
    now = int(time.time())
    items = {
        "expired": {"N": str(now - 10)},
        "live": {"N": str(now + 3600)},
        "ancient": {"N": str(now - FIVE_YEARS_SECONDS - 100)},  # AWS leaves these alone
        "text": {"S": str(now - 10)},  # only a Number is a TTL
    }
    for tracking_id, expires in items.items():
        dynamodb.put_item(TableName=trackings.name, Item={"trackingId": {"S": tracking_id}, "expiresAt": expires})
    dynamodb.put_item(TableName=trackings.name, Item={"trackingId": {"S": "no-ttl"}})

    assert expire_items(dynamodb, system.stack.tables(), now=now) == 1

    left = {i["trackingId"]["S"] for i in dynamodb.scan(TableName=trackings.name)["Items"]}
    assert left == {"live", "ancient", "text", "no-ttl"}


def test_the_seed_orders_outlive_any_sweep(system):
    """Seed orders carry no TTL attribute: they are never deleted, however late the sweep."""
    dynamodb = system.aws.client("dynamodb")
    orders = table_named(system, "TablesOrders")
    expire_items(dynamodb, system.stack.tables(), now=time.time() + 10 * 365 * 24 * 3600)
    assert {i["orderId"]["S"] for i in dynamodb.scan(TableName=orders.name)["Items"]} >= {"ZX-1001", "ZX-1002", "ZX-1003"}


class ScanFrom:
    """A DynamoDB client whose scans answer what an earlier scan saw (the sweep's view before a write)."""

    def __init__(self, client, pages) -> None:
        self._client, self._pages = client, pages

    def get_paginator(self, name):
        assert name == "scan"
        return type("Paginator", (), {"paginate": lambda _self, **_kw: iter(self._pages)})()

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_an_item_renewed_between_the_scan_and_the_delete_is_kept(system):
    dynamodb = system.aws.client("dynamodb")
    connections = table_named(system, "TablesConnections")
    now = int(time.time())
    key = {"connectionId": {"S": "renewed"}}
    dynamodb.put_item(TableName=connections.name, Item={**key, "expiresAt": {"N": str(now - 5)}})
    pages = list(dynamodb.get_paginator("scan").paginate(TableName=connections.name, ProjectionExpression="connectionId"))
    dynamodb.put_item(TableName=connections.name, Item={**key, "expiresAt": {"N": str(now + 3600)}})  # renewed

    assert expire_items(ScanFrom(dynamodb, pages), [connections], now=now) == 0
    assert dynamodb.get_item(TableName=connections.name, Key=key)["Item"]["expiresAt"] == {"N": str(now + 3600)}
