"""DynamoDB conditional writes as the stores use them: the response when the condition held, or the
item as it stood when it did not (ReturnValuesOnConditionCheckFailure), so one round trip tells the
caller why a write did not take."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

_DESERIALIZE = TypeDeserializer()


def plain(value: Any) -> Any:
    """DynamoDB's Decimals as ints, recursively."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def _typed_item(typed: dict[str, Any] | None) -> dict[str, Any] | None:
    """An item from an error response, which the resource API leaves in DynamoDB's typed JSON."""
    return {k: _DESERIALIZE.deserialize(v) for k, v in typed.items()} if typed else None


def _condition_failed(error: ClientError) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def _write_or_old(write: Any, request: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    try:
        return dict(write(**request)), None
    except ClientError as error:
        if _condition_failed(error):
            return None, _typed_item(error.response.get("Item"))
        raise


def update_or_old(table: Any, **request: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A conditional `update_item`: (its response, None), or (None, the item as it stood, if any) when
    the condition did not hold and the request asked for ReturnValuesOnConditionCheckFailure."""
    return _write_or_old(table.update_item, request)


def update_if(table: Any, **request: Any) -> dict[str, Any] | None:
    """A conditional `update_item`: its response, or None when the condition did not hold."""
    return update_or_old(table, **request)[0]


def put_or_old(table: Any, **request: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A conditional `put_item`, answered as update_or_old answers."""
    return _write_or_old(table.put_item, request)


def delete_or_old(table: Any, **request: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A conditional `delete_item`, answered as update_or_old answers."""
    return _write_or_old(table.delete_item, request)
