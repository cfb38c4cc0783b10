"""The API Gateway connection management API of the stage: send one frame to one connection. Counts
nothing itself (a fan-out posts from many threads, and Powertools' metrics are not thread-safe):
callers count what a post did, on their handler's thread."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from order_tracking.aws import clients
from order_tracking.wire.frames import encode


def _is_gone(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return bool(code == "GoneException" or status == 410)


def is_server_error(error: BaseException) -> bool:
    """Whether `error` is a post that failed with a 5xx of the management API (after botocore's retry)."""
    return (
        isinstance(error, ClientError)
        and error.operation_name == "PostToConnection"
        and error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
    )


class Gateway:
    """The management API at `endpoint` (https://{api}.execute-api.{region}.amazonaws.com/{stage}). Its
    client is the process's and thread-safe: a fan-out's threads share it."""

    def __init__(self, endpoint: str) -> None:
        self.client: Any = clients.management_api(endpoint)

    def post(self, connection_id: str, frame: dict[str, Any]) -> bool:
        """Send `frame`; False when the connection is gone (410). Other errors propagate."""
        try:
            self.client.post_to_connection(ConnectionId=connection_id, Data=encode(frame).encode("utf-8"))
        except ClientError as error:
            if _is_gone(error):
                return False
            raise
        return True
