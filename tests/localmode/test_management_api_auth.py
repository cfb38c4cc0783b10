"""`@connections` in local mode answers as API Gateway's management API does: only to requests signed
with SigV4 by a key local mode knows, whose IAM policies allow execute-api:ManageConnections, under
this API's stage; any AWS SDK with local mode's credentials keeps working."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request

import boto3
import pytest
import websockets
from botocore.exceptions import ClientError

from local.aws.services import local_client
from local.gateway.websocket import WebSocketGateway
from local.iam.policies import LocalIam
from tests.support.aio import run
from tests.unit.test_websocket_gateway import API, Handlers


def management_client(endpoint: str, key: str, secret: str, token: str | None = None):
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
    )


def admin(endpoint: str):
    return local_client(endpoint, "apigatewaymanagementapi")


def as_role(endpoint: str, iam: LocalIam, stack, handler: str):
    (spec,) = [f for f in stack.functions().values() if f.handler == f"handlers.{handler}.handler"]
    credentials = iam.credentials(spec.role, spec.name)
    return management_client(endpoint, credentials.access_key, credentials.secret_key, credentials.session_token)


def error_of(call) -> tuple[int, str]:
    try:
        call()
    except ClientError as error:
        return error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"]
    return 200, ""


def raw(method: str, url: str, data: bytes | None = None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - local http URL
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


@pytest.fixture(scope="module")
def iam(stack) -> LocalIam:
    return LocalIam.from_stack(stack)


def with_connection(iam, scenario):
    async def body():
        gateway = WebSocketGateway(API, Handlers(), port=0, iam=iam)
        await gateway.start()
        try:
            async with websockets.connect(gateway.url) as connection:
                await asyncio.sleep(0.1)
                (connection_id,) = gateway.registry.ids()
                return await asyncio.to_thread(scenario, gateway, connection, connection_id)
        finally:
            await gateway.stop()

    return run(body())


def test_local_credentials_work_with_any_sdk_and_unknown_ids_are_gone(iam):
    def scenario(gateway, connection, connection_id):
        client = admin(gateway.management_endpoint)
        client.post_to_connection(ConnectionId=connection_id, Data=b'{"type":"hello"}')
        described = client.get_connection(ConnectionId=connection_id)
        gone = error_of(lambda: client.post_to_connection(ConnectionId="nope", Data=b"{}"))
        return described, gone

    described, gone = with_connection(iam, scenario)
    assert "ConnectedAt" in described
    assert gone == (410, "GoneException")


def test_unsigned_wrongly_signed_and_foreign_stage_requests_are_refused_with_403(iam):
    def scenario(gateway, connection, connection_id):
        base = gateway.management_endpoint.rsplit("/", 1)[0]
        url = f"{gateway.management_endpoint}/@connections/{urllib.parse.quote(connection_id, safe='')}"
        unsigned = raw("POST", url, b'{"type":"order_delivered"}')
        unsigned_delete = raw("DELETE", url)
        wrong_secret = error_of(
            lambda: management_client(gateway.management_endpoint, "local", "guessed").post_to_connection(
                ConnectionId=connection_id, Data=b"{}"
            )
        )
        unknown_key = error_of(
            lambda: management_client(gateway.management_endpoint, "AKIAOTHER", "x").post_to_connection(
                ConnectionId=connection_id, Data=b"{}"
            )
        )
        other_stage = error_of(lambda: admin(f"{base}/prod").post_to_connection(ConnectionId=connection_id, Data=b"{}"))
        no_stage = error_of(lambda: admin(base).post_to_connection(ConnectionId=connection_id, Data=b"{}"))
        return unsigned, unsigned_delete, wrong_secret, unknown_key, other_stage, no_stage

    unsigned, unsigned_delete, wrong_secret, unknown_key, other_stage, no_stage = with_connection(iam, scenario)
    status, headers, body = unsigned
    assert status == 403 and body == {"message": "Missing Authentication Token"}
    assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert unsigned_delete[0] == 403
    assert wrong_secret == (403, "InvalidSignatureException")
    assert unknown_key == (403, "UnrecognizedClientException")
    assert other_stage == (403, "ForbiddenException")
    assert no_stage == (403, "ForbiddenException")


def test_a_role_needs_execute_api_manage_connections(iam, stack):
    def scenario(gateway, connection, connection_id):
        endpoint = gateway.management_endpoint
        emit = error_of(lambda: as_role(endpoint, iam, stack, "emit").post_to_connection(ConnectionId=connection_id, Data=b"{}"))
        connect = error_of(lambda: as_role(endpoint, iam, stack, "connect").delete_connection(ConnectionId=connection_id))
        return emit, connect

    emit, connect = with_connection(iam, scenario)
    assert emit == (200, "")  # emit's role is granted ManageConnections on this stage
    assert connect == (403, "AccessDeniedException")  # $connect's is not
