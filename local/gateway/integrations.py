"""The WebSocket API's integrations, as API Gateway runs them:
- Each message picks its route by the route selection expression (`$request.body.type`), falling back
  to `$default`.
- The $connect route's REQUEST authorizer runs first: a missing identity source is 401 without calling
  it, its "Unauthorized" error is 401, another error 500, a policy that does not allow the route 403;
  its `context` (and `principalId`) reaches every later event as `requestContext.authorizer`.
- A route's or the authorizer's function is invoked only if its resource-based policy (the
  template's AWS::Lambda::Permission) lets API Gateway invoke it from that route or authorizer, as
  Lambda checks: else the call fails as API Gateway fails it (a 500 handshake, an "Internal server
  error" answer) and "Invalid permissions on Lambda function" is logged.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.console.lines import Console
from local.gateway import events
from local.gateway.http_front import RequestHead
from local.iam.policies import policy_allows
from local.iam.resource_policies import APIGATEWAY_PRINCIPAL, LambdaPermissions, authorizer_source_arn, route_source_arn
from local.runtime.workers import Invocation
from local.template.specs import AuthorizerSpec, WebSocketApiSpec

Invoke = Callable[[str, dict[str, Any]], Invocation]
INVALID_PERMISSIONS = "Invalid permissions on Lambda function"  # API Gateway's words for a missing Lambda::Permission


def select_route(expression: str, body: str, routes: dict[str, Any]) -> str | None:
    """The route key for a message: the value at `$request.body.<path>` if a route has it, else `$default`."""
    if expression.startswith("$request.body."):
        try:
            value: Any = json.loads(body)
            for part in expression.removeprefix("$request.body.").split("."):
                value = value.get(part) if isinstance(value, dict) else None
        except (ValueError, RecursionError):  # not JSON, or nested deeper than a parser goes
            value = None
        if isinstance(value, str) and value in routes and not value.startswith("$"):
            return value
    return "$default" if "$default" in routes else None


class Integrations:
    """The routes of `api` and their functions, invoked with `invoke` on `threads` threads.
    `permissions`: the functions' resource-based policies (None: not checked, for tests of the gateway
    alone). Both may be replaced while it runs (a reload)."""

    def __init__(
        self, api: WebSocketApiSpec, invoke: Invoke, console: Console, *, threads: int, permissions: LambdaPermissions | None
    ) -> None:
        self.api = api
        self.permissions = permissions
        self.console = console
        self._invoke_blocking = invoke
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="route")

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def route_of(self, body: str) -> str | None:
        return select_route(self.api.route_selection_expression, body, self.api.routes)

    async def invoke(self, route_key: str, event: dict[str, Any]) -> Invocation:
        source = route_source_arn(self.api.stage_name, route_key)
        return await self._invoke_function(self.api.routes[route_key].function, event, source)

    async def _invoke_function(self, function: str, event: dict[str, Any], source_arn: str) -> Invocation:
        if self.permissions is not None and not self.permissions.allows(function, APIGATEWAY_PRINCIPAL, source_arn):
            # What API Gateway logs; the caller answers as for any failed integration (500).
            self.console.log("ERROR", f"Execution failed due to configuration error: {INVALID_PERMISSIONS} {function}")
            return Invocation(
                error={"errorType": "AccessDeniedException", "errorMessage": "Invalid permissions on Lambda function"}
            )
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._invoke_blocking, function, event)

    async def admit(self, connection_id: str, head: RequestHead, context: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        """The authorizer, then $connect: (their answer's status, the authorizer's context)."""
        authorizer = self.api.routes["$connect"].authorizer
        status, identity = await self._authorize(authorizer, connection_id, head, context) if authorizer else (0, None)
        if status:
            return status, None
        event = events.connect_event(connection_id, head.target, head.headers, identity=identity, **context)
        invocation = await self.invoke("$connect", event)
        status = 500 if invocation.error else int((invocation.payload or {}).get("statusCode", 200))
        return status, identity

    async def _authorize(
        self, spec: AuthorizerSpec, connection_id: str, head: RequestHead, context: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None]:
        """(0, authorizer context) when admitted, else (HTTP status, None)."""
        query = dict(parse_qsl(urlsplit(head.target).query, keep_blank_values=True))
        for source in spec.identity_source:
            kind, _, name = source.removeprefix("route.request.").partition(".")
            value = query.get(name) if kind == "querystring" else head.headers.get(name.lower())
            if not value:
                return 401, None
        event = events.authorizer_event(connection_id, head.target, head.headers, **context)
        invocation = await self._invoke_function(spec.function, event, authorizer_source_arn(spec.authorizer_id))
        if invocation.error:
            return (401 if invocation.error.get("errorMessage") == "Unauthorized" else 500), None
        policy = invocation.payload if isinstance(invocation.payload, dict) else {}
        if not policy_allows(policy, "execute-api:Invoke", event["methodArn"]):
            return 403, None
        return 0, {**(policy.get("context") or {}), "principalId": policy.get("principalId")}
