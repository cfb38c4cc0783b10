"""The WebSocket gateway's API Gateway behaviour, with handlers replaced by plain functions."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from local.gateway.integrations import select_route
from local.gateway.websocket import WebSocketGateway
from local.runtime.workers import Invocation
from local.template.specs import RouteSpec, WebSocketApiSpec
from tests.support.aio import run

ROUTES = {
    key: RouteSpec(key, key, return_response=key in ("echo", "$default"))
    for key in ("$connect", "$disconnect", "echo", "silent", "$default", "boom")
}
API = WebSocketApiSpec("$request.body.type", "dev", "https://local.execute-api.us-east-1.amazonaws.com/dev", ROUTES)


class Handlers:
    def __init__(self, connect_status: int = 200) -> None:
        self.connect_status = connect_status
        self.events: list[dict] = []

    def __call__(self, function: str, event: dict) -> Invocation:
        self.events.append(event)
        if function == "$connect":
            return Invocation(payload={"statusCode": self.connect_status})
        if function == "boom":
            return Invocation(error={"errorType": "KeyError", "errorMessage": "x"})
        return Invocation(payload={"statusCode": 200, "body": json.dumps({"route": function, "body": event.get("body")})})


async def _with_gateway(handlers: Handlers, scenario):
    gateway = WebSocketGateway(API, handlers, port=0)
    await gateway.start()
    try:
        return await scenario(gateway)
    finally:
        await gateway.stop()


def test_route_selection_uses_the_body_type_and_falls_back_to_default():
    assert select_route("$request.body.type", '{"type":"echo"}', ROUTES) == "echo"
    assert select_route("$request.body.type", '{"type":"nope"}', ROUTES) == "$default"
    assert select_route("$request.body.type", '{"type":"$connect"}', ROUTES) == "$default"
    assert select_route("$request.body.type", "not json", ROUTES) == "$default"
    assert select_route("$request.body.type", '{"type":{"a":1}}', ROUTES) == "$default"


@pytest.mark.parametrize("status", [401, 403, 500])
def test_connect_handler_status_refuses_the_handshake(status):
    handlers = Handlers(connect_status=status)

    async def scenario(gateway):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{gateway.url}/?token=abc")
        return refused.value.response.status_code

    assert run(_with_gateway(handlers, scenario)) == status
    (connect,) = handlers.events
    assert connect["queryStringParameters"] == {"token": "abc"}
    assert connect["requestContext"]["eventType"] == "CONNECT"


def test_route_responses_only_where_configured_and_errors_as_api_gateway_sends_them():
    handlers = Handlers()

    async def scenario(gateway):
        async with websockets.connect(gateway.url) as connection:
            await connection.send('{"type":"silent"}')
            await connection.send('{"type":"echo","n":1}')
            echoed = json.loads(await asyncio.wait_for(connection.recv(), 5))
            await connection.send('{"type":"boom"}')
            failed = json.loads(await asyncio.wait_for(connection.recv(), 5))
        await asyncio.sleep(0.3)
        return echoed, failed

    echoed, failed = run(_with_gateway(handlers, scenario))
    assert echoed == {"route": "echo", "body": '{"type":"echo","n":1}'}
    assert failed["message"] == "Internal server error" and failed["connectionId"]
    disconnect = handlers.events[-1]
    assert disconnect["requestContext"]["routeKey"] == "$disconnect"
    assert disconnect["requestContext"]["disconnectStatusCode"] == 1000
