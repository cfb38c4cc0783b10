"""The API Gateway connection management API: send one frame to one connection. Counts nothing
itself (a fan-out posts from many threads, and Powertools' metrics are not thread-safe): callers
count what a post did, on their handler's thread."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from order_tracking import aws_clients
from order_tracking.protocol import encode


def _is_gone(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return bool(code == "GoneException" or status == 410)


def is_server_error(error: Exception) -> bool:
    """Whether `error` is a post that failed with a 5xx of the management API (after botocore's retry)."""
    return (
        isinstance(error, ClientError)
        and error.operation_name == "PostToConnection"
        and error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
    )


def post(connection_id: str, frame: dict[str, Any], client: Any = None) -> bool:
    """Send `frame` (with `client`, default the process's management API client); False when the
    connection is gone (410). Other errors propagate."""
    management = client or aws_clients.management_api()
    try:
        management.post_to_connection(ConnectionId=connection_id, Data=encode(frame).encode("utf-8"))
    except ClientError as error:
        if _is_gone(error):
            return False
        raise
    return True
