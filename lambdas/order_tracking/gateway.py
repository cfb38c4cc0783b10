"""The API Gateway connection management API: send one frame to one connection."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from order_tracking import aws_clients
from order_tracking.observability import Metric, count
from order_tracking.protocol import encode


def _is_gone(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return bool(code == "GoneException" or status == 410)


def post(connection_id: str, frame: dict[str, Any]) -> bool:
    """Send `frame`; False when the connection is gone (410). Other errors propagate."""
    try:
        aws_clients.management_api().post_to_connection(ConnectionId=connection_id, Data=encode(frame).encode("utf-8"))
    except ClientError as error:
        if _is_gone(error):
            count(Metric.CONNECTIONS_GONE)
            return False
        if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
            count(Metric.MANAGEMENT_API_ERRORS)
        raise
    return True
