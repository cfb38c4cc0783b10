"""What an AWS API request asks IAM for: its action (`dynamodb:UpdateItem`) and the resources it
names (the table's ARN), read from the request by the same fields that dispatch it; and the refusals,
in the shape each service's protocol answers them, so botocore raises the same ClientError as on AWS.

One reading decides both what IAM checks and where the request goes, so no request can be checked
as one thing and run as another:
- the path is the one the WSGI server decoded once (PATH_INFO); a path that is not in normal form
  (`//`, `.` or `..` segments, control characters) is refused, and a Lambda invoke is recognised on
  that decoded path only, the path the Lambda endpoint routes on;
- a JSON-protocol call is named by its X-Amz-Target alone: its prefix must be a service local mode
  serves, its operation one of that service's, its credential scope that service's signing name, its
  body a JSON object and its URL `/` with no query string (moto reads `?Action=` before the target);
- everything else must be signed: an unsigned request that is no known call (moto's own `/moto-api`,
  a stray path) is refused, and `/moto-api` answers the administrator only.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import botocore.session

from local.iam.sigv4 import AUTHORIZATION, SignedRequest
from local.template.names import local_arn


@dataclass(frozen=True)
class JsonService:
    iam: str  # its IAM prefix, as in "dynamodb:GetItem"
    signing_name: str  # the service in a SigV4 credential scope (moto dispatches on it)
    model: str  # botocore's name for its API model


# X-Amz-Target prefix of each JSON-protocol service local mode serves.
JSON_TARGETS = {
    "DynamoDB_20120810": JsonService("dynamodb", "dynamodb", "dynamodb"),
    "AWSStepFunctions": JsonService("states", "states", "stepfunctions"),
    "secretsmanager": JsonService("secretsmanager", "secretsmanager", "secretsmanager"),
    "AmazonSQS": JsonService("sqs", "sqs", "sqs"),
    "AWSEvents": JsonService("events", "events", "events"),
    "GraniteServiceVersion20100801": JsonService("cloudwatch", "monitoring", "cloudwatch"),
}
INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
MOTO_API = "/moto-api"
ADMIN_ONLY = "local:MotoApi"  # no role of a template is granted this action: only the administrator passes


@dataclass(frozen=True)
class Requested:
    service: str
    action: str  # e.g. "dynamodb:UpdateItem"
    resources: list[str]
    protocol: str = "json"  # or "query" (form body, XML answers)
    signing_name: str | None = None  # the credential scope it must be signed for (None: any)
    lambda_function: str | None = None  # a Lambda invoke: the function's name, as routed


class NotServed(Exception):
    """A request that is refused before any signature is looked at: (HTTP status, error code, message)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def answer(self) -> tuple[int, bytes, dict[str, str]]:
        body = json.dumps({"__type": self.code, "message": self.message, "Message": self.message}).encode()
        return self.status, body, {"x-amzn-ErrorType": self.code, "Content-Type": "application/json"}


def classify(request: SignedRequest) -> Requested:
    """The action and resources of a request to local mode's AWS endpoint, or NotServed. A signed call
    of a service this module does not model is still one: its action comes from the request, its
    resource is "*", so only a role granted that action on every resource may make it (stricter than
    AWS, never laxer)."""
    path = request.path
    if "\0" in path or any(ord(c) < 0x20 or ord(c) == 0x7F for c in path) or not _normal(path):
        raise NotServed(400, "InvalidRequestException", "the request path is not in normal form")
    amz_target = request.headers.get("x-amz-target")
    if amz_target is not None:
        return _json_call(request, amz_target)
    if path == MOTO_API or path.startswith(MOTO_API + "/"):
        return Requested("local", ADMIN_ONLY, ["*"])
    invoke = INVOKE_PATH.match(path)
    if invoke and request.method == "POST":
        name = invoke.group("name")  # decoded once, by the server: the name the Lambda endpoint invokes
        return Requested("lambda", "lambda:InvokeFunction", [local_arn("AWS::Lambda::Function", name)], "json", "lambda", name)
    return _unmodelled(request)


def _normal(path: str) -> bool:
    if not path.startswith("/"):
        return False
    segments = path.split("/")[1:]
    return all(segment not in (".", "..") for segment in segments) and "" not in segments[:-1]


def _json_call(request: SignedRequest, amz_target: str) -> Requested:
    prefix, dot, operation = amz_target.partition(".")
    service = JSON_TARGETS.get(prefix)
    if service is None or not dot:
        raise NotServed(400, "UnknownOperationException", f"unknown target {amz_target[:80]!r}")
    if operation not in _operations(service.model):
        raise NotServed(400, "UnknownOperationException", f"{service.model} has no operation {operation[:80]!r}")
    if request.path != "/" or request.query:
        raise NotServed(400, "InvalidRequestException", "a JSON-protocol call is a POST to / with no query string")
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, RecursionError):
        payload = None
    if request.method != "POST" or not isinstance(payload, dict):
        raise NotServed(400, "SerializationException", "a JSON-protocol call is a POST whose body is a JSON object")
    return Requested(service.iam, f"{service.iam}:{operation}", _resources(service.iam, payload), "json", service.signing_name)


@cache
def _operations(model: str) -> frozenset[str]:
    return frozenset(botocore.session.get_session().get_service_model(model).operation_names)


def _unmodelled(request: SignedRequest) -> Requested:
    match = AUTHORIZATION.match(request.headers.get("authorization", "").strip())
    if match is None:
        raise NotServed(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    service = match.group("service")
    form = dict(parse_qsl(request.body.decode("utf-8", "replace"))) if request.body else {}
    if "Action" in form:  # the query protocol names its action in the form body
        return Requested(service, f"{service}:{form['Action']}", ["*"], "query", service)
    return Requested(service, f"{service}:{request.path.strip('/').split('/', 1)[0] or 'Unknown'}", ["*"], "json", service)


def _table_arn(name: str, index: str | None = None) -> str:
    arn = local_arn("AWS::DynamoDB::Table", name)
    return f"{arn}/index/{index}" if index else arn


def _bus_arn(name: Any) -> str:
    return local_arn("AWS::Events::EventBus", str(name or "default"))


def _resources(service: str, payload: dict[str, Any]) -> list[str]:
    if service == "dynamodb":
        if "TableName" in payload:
            return [_table_arn(str(payload["TableName"]), payload.get("IndexName"))]
        if isinstance(payload.get("RequestItems"), dict):  # BatchGetItem, BatchWriteItem
            return [_table_arn(str(name)) for name in payload["RequestItems"]]
        if isinstance(payload.get("TransactItems"), list):
            return [
                _table_arn(str(op.get("TableName")))
                for item in payload["TransactItems"]
                if isinstance(item, dict)
                for op in item.values()
                if isinstance(op, dict)
            ]
    if service == "states":
        for key in ("stateMachineArn", "executionArn"):
            if key in payload:
                return [str(payload[key])]
    if service == "secretsmanager" and "SecretId" in payload:
        return [local_arn("AWS::SecretsManager::Secret", str(payload["SecretId"]))]
    if service == "events" and isinstance(payload.get("Entries"), list):  # PutEvents: each entry's bus
        return sorted({_bus_arn(entry.get("EventBusName")) for entry in payload["Entries"] if isinstance(entry, dict)})
    if service == "events" and "EventBusName" in payload:
        return [_bus_arn(payload["EventBusName"])]
    if service == "sqs" and "QueueUrl" in payload:
        return [local_arn("AWS::SQS::Queue", str(payload["QueueUrl"]).rstrip("/").rsplit("/", 1)[-1])]
    return ["*"]


def refusal(requested: Requested, code: str, message: str) -> tuple[int, bytes, dict[str, str]]:
    """(HTTP status, body, headers) with which the requested service answers an error `code`."""
    if requested.protocol == "query":  # XML; IAM denials are AccessDenied with 403 there
        query_code = "AccessDenied" if code == "AccessDeniedException" else code
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{escape(query_code)}</Code><Message>{escape(message)}</Message>"
            f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        )
        status = 403 if query_code in ("AccessDenied", "InvalidSignatureException", "SignatureDoesNotMatch") else 400
        return status, body.encode(), {"Content-Type": "text/xml"}
    headers = {"x-amzn-ErrorType": code, "Content-Type": "application/json"}
    if requested.service == "lambda":  # REST-JSON: the type is in x-amzn-ErrorType
        status = 403 if code in ("AccessDeniedException", "InvalidSignatureException") else 400
        return status, json.dumps({"Type": "User", "Message": message}).encode(), headers
    if requested.service == "sqs":  # JSON protocol with query-compatible error codes
        headers["x-amzn-query-error"] = f"{'AccessDenied' if code == 'AccessDeniedException' else code};Sender"
    payload = {"__type": f"com.amazon.coral.service#{code}", "message": message, "Message": message}
    return 400, json.dumps(payload).encode(), headers
