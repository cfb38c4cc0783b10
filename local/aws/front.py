"""The WSGI layers in front of moto's server app, outermost first: AwsFront (every request classified,
signed by a known key and allowed by the caller's IAM policies, or refused in the service's own error
shape), the fault plan's DynamoDB faults, one DynamoDB write at a time (as atomic as DynamoDB), and the
Lambda Invoke endpoint that runs the project's handlers (moto's own Lambda needs Docker)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from local.faults.plan import PLAN
from local.iam import sigv4
from local.iam.policies import AccessDenied, LocalIam
from local.iam.requests import ADMIN_ONLY, NotServed, Requested, classify, refusal
from local.iam.sigv4 import SignedRequest
from local.runtime.workers import LambdaRuntime

REQUESTED = "local.requested"  # the environ key under which AwsFront leaves what a request was classified as
DYNAMODB_TARGET = "DynamoDB_20120810."


class LambdaInvokeMiddleware:
    """WSGI: answers a Lambda Invoke (`POST /2015-03-31/functions/{name}/invocations`, as AwsFront
    classified it: the name it checked is the name run) with a local handler run, and passes every
    other request to moto. Function errors come back as the Lambda API reports them."""

    def __init__(self, app: Callable[..., Any], runtime_of: Callable[[], LambdaRuntime | None]) -> None:
        self.app = app
        self.runtime_of = runtime_of

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        requested: Requested | None = environ.get(REQUESTED)
        name = requested.lambda_function if requested is not None else None
        runtime = self.runtime_of()
        if name is None or runtime is None:
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            runtime.spec(name)
        except KeyError:
            return _respond(
                start_response,
                "404 Not Found",
                {"Message": f"Function not found: {name}", "Type": "User"},
                {"x-amzn-ErrorType": "ResourceNotFoundException"},
            )
        try:
            event = json.loads(body) if body else {}
        except (ValueError, RecursionError):
            return _respond(
                start_response,
                "400 Bad Request",
                {"Message": "Could not parse request body into json", "Type": "User"},
                {"x-amzn-ErrorType": "InvalidRequestContentException"},
            )
        invocation = runtime.invoke(name, event)
        if invocation.error is None and PLAN.strike("lambda_retry"):
            # The function ran; the caller is told it did not, and retries (Lambda.ServiceException).
            return _respond(
                start_response,
                "500 Internal Server Error",
                {"Type": "Service", "Message": "injected fault"},
                {"x-amzn-ErrorType": "ServiceException"},
            )
        headers = {"X-Amz-Executed-Version": "$LATEST"}
        if invocation.error is not None:
            headers["X-Amz-Function-Error"] = "Unhandled"
            return _respond(start_response, "200 OK", invocation.error, headers)
        return _respond(start_response, "200 OK", invocation.payload, headers)


class DynamoDbFaults:
    """WSGI: a handler's DynamoDB call fails as the fault plan says (throttled or 500), else passes."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if is_handler_dynamodb_call(environ) and PLAN.strike("dynamodb"):
            return _dynamodb_fault(start_response)
        return self.app(environ, start_response)


def is_dynamodb_call(environ: dict[str, Any]) -> bool:
    return str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(DYNAMODB_TARGET)


def is_handler_dynamodb_call(environ: dict[str, Any]) -> bool:
    """A DynamoDB API call from a Lambda worker (they identify as the function in their user agent)."""
    return is_dynamodb_call(environ) and "exec-env/AWS_Lambda" in environ.get("HTTP_USER_AGENT", "")


def _dynamodb_fault(start_response: Callable[..., Any]) -> list[bytes]:
    if PLAN.choice([True, False]):
        payload = {
            "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
            "message": "Rate of requests exceeds the allowed throughput.",
        }
        return _respond(start_response, "400 Bad Request", payload, {"x-amzn-ErrorType": "ThrottlingException"})
    payload = {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "Internal server error"}
    return _respond(start_response, "500 Internal Server Error", payload, {"x-amzn-ErrorType": "InternalServerError"})


def _respond(start_response: Callable[..., Any], status: str, payload: Any, headers: dict[str, str]) -> list[bytes]:
    return _respond_bytes(start_response, status, json.dumps(payload).encode(), {"Content-Type": "application/json", **headers})


def _respond_bytes(start_response: Callable[..., Any], status: str, body: bytes, headers: dict[str, str]) -> list[bytes]:
    start_response(status, [("Content-Length", str(len(body))), ("x-amzn-RequestId", str(uuid.uuid4())), *headers.items()])
    return [body]


class AwsFront:
    """WSGI, in front of everything on an AWS port of local mode: a request must be an AWS API call
    local mode serves, as local/iam/requests.py reads it (else it is refused before anything runs),
    signed (SigV4) by a key local mode knows for the service it is routed to, and its role must allow
    the action on the resources it names (local/iam/policies.py). Refusals come in each service's error shape.
    moto's own API (/moto-api) answers the administrator only. No CORS: a preflight is refused and
    moto's Access-Control-* headers are dropped, so no web page can call these ports (the
    administrator's key is documented, and a page could sign with it)."""

    def __init__(self, app: Callable[..., Any], iam: LocalIam, only: str | None = None) -> None:
        """`only`: the one service (IAM prefix) this port serves; None: all of local mode's."""
        self.app = app
        self.iam = iam
        self.only = only

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("REQUEST_METHOD") == "OPTIONS":
            forbidden = {"x-amzn-ErrorType": "ForbiddenException"}
            return _respond(start_response, "403 Forbidden", {"message": "no CORS here"}, forbidden)
        request = SignedRequest.from_wsgi(environ)
        try:
            requested = classify(request)
            if self.only is not None and requested.service != self.only:
                raise NotServed(400, "UnknownOperationException", f"this port serves {self.only} only")
        except NotServed as refused:
            status, body, headers = refused.answer()
            return _respond_bytes(start_response, f"{status} {HTTPStatus(status).phrase}", body, headers)
        try:
            key = self.iam.authorize(request, requested.action, requested.resources, service=requested.signing_name)
            if requested.action == ADMIN_ONLY and self.iam.principal(key) is not None:
                raise sigv4.SignatureRefused("AccessDeniedException", "moto's API answers local mode's administrator only")
        except sigv4.SignatureRefused as refused:
            status, body, headers = refusal(requested, refused.code, refused.message)
        except AccessDenied as denied:
            status, body, headers = refusal(requested, "AccessDeniedException", denied.message)
        else:
            environ[REQUESTED] = requested
            return self.app(environ, _without_cors(start_response))
        return _respond_bytes(start_response, f"{status} {HTTPStatus(status).phrase}", body, headers)


def _without_cors(start_response: Callable[..., Any]) -> Callable[..., Any]:
    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        kept = [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]
        return start_response(status, kept, exc_info)

    return start


class SerializedDynamoDb:
    """WSGI: one DynamoDB request at a time, as DynamoDB makes each write atomic (a condition checked
    and the write done in one step, a transaction all at once). moto checks a condition and writes
    in separate steps, and iterates a table's items while another request adds to them: under
    concurrent requests, 200 conditional appends capped at 150 reported 156 successes, and a Scan
    could fail with "dictionary changed size during iteration". Serializing costs no throughput worth
    measuring: moto's request handling holds the GIL anyway, and sockets are read and written outside
    the lock. Reads are serialized too, so none sees half of a write."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if not is_dynamodb_call(environ):
            return self.app(environ, start_response)
        with self._lock:
            result = self.app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                if hasattr(result, "close"):
                    result.close()
