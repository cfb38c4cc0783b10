"""DynamoDB's Time to Live, which moto does not run: items whose TTL attribute is an epoch time in the
past are deleted, as AWS deletes them.

AWS deletes an expired item in the background, typically within a few days of its expiry; until then
the item is still read, which the handlers allow for (they check `expiresAt` where it matters).
Local mode sweeps every table with TTL enabled every 30 seconds (local/cli/run.py), so a long run holds what a
deployed stack keeps and no more. As on AWS, only a Number attribute counts, and one more than five
years in the past is left alone.

The sweep goes through the DynamoDB API (Scan, then a DeleteItem conditional on the item still being
expired), so a write that renews an item between the two keeps it.
"""

from __future__ import annotations

import time
from typing import Any

from local.template.specs import TableSpec

FIVE_YEARS_SECONDS = 5 * 365 * 24 * 3600


def expire_items(dynamodb: Any, tables: list[TableSpec], now: float | None = None) -> int:
    """Delete the expired items of every table with a TTL attribute; returns how many went."""
    moment = int(time.time() if now is None else now)
    deleted = 0
    for table in tables:
        if table.ttl_attribute:
            deleted += _expire_table(dynamodb, table, table.ttl_attribute, moment)
    return deleted


def _expire_table(dynamodb: Any, table: TableSpec, attribute: str, now: int) -> int:
    keys = {f"#k{i}": key["AttributeName"] for i, key in enumerate(table.key_schema)}
    deleted = 0
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table.name,
        # attribute_type first: moto, unlike DynamoDB, fails comparing a String with a Number.
        FilterExpression="attribute_type(#ttl, :number) AND #ttl < :now AND #ttl > :oldest",
        ProjectionExpression=", ".join(keys),
        ExpressionAttributeNames={"#ttl": attribute, **keys},
        ExpressionAttributeValues={
            ":number": {"S": "N"},
            ":now": {"N": str(now)},
            ":oldest": {"N": str(now - FIVE_YEARS_SECONDS)},
        },
    )
    for page in pages:
        for item in page.get("Items", []):
            try:
                dynamodb.delete_item(
                    TableName=table.name,
                    Key=item,
                    ConditionExpression="attribute_type(#ttl, :number) AND #ttl < :now",
                    ExpressionAttributeNames={"#ttl": attribute},
                    ExpressionAttributeValues={":number": {"S": "N"}, ":now": {"N": str(now)}},
                )
                deleted += 1
            except dynamodb.exceptions.ConditionalCheckFailedException:
                continue  # renewed since the scan
    return deleted
