"""What an AWS API request asks IAM for: its action (`dynamodb:UpdateItem`) and the resources it
names (the table's ARN), read from the request as the service would read it; and the refusals, in the
shape each service's protocol answers them, so botocore raises the same ClientError as on AWS."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.sax.saxutils import escape

from local.template import local_arn

# X-Amz-Target prefix of a JSON-protocol service -> its IAM service prefix.
JSON_TARGETS = {
    "DynamoDB_20120810": "dynamodb",
    "AWSStepFunctions": "states",
    "secretsmanager": "secretsmanager",
    "AmazonSQS": "sqs",
    "AWSEvents": "events",
}
LAMBDA_INVOKE = "/2015-03-31/functions/"
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


@dataclass(frozen=True)
class Requested:
    service: str
    action: str  # e.g. "dynamodb:UpdateItem"
    resources: list[str]
    protocol: str = "json"  # or "query" (form body, XML answers)


def classify(method: str, target: str, headers: dict[str, str], body: bytes) -> Requested | None:
    """The action and resources of a request to local mode's AWS endpoint; None for a request that is
    no AWS API call (unsigned and unknown, like moto's own /moto-api). A signed call of a service this
    module does not model is still one: its action comes from the request, its resource is "*", so
    only a role granted that action on every resource may make it (stricter than AWS, never laxer)."""
    path = urlsplit(target).path
    amz_target = headers.get("x-amz-target", "")
    if "." in amz_target and amz_target.split(".", 1)[0] in JSON_TARGETS:
        prefix, operation = amz_target.split(".", 1)
        service = JSON_TARGETS[prefix]
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        return Requested(service, f"{service}:{operation}", _resources(service, payload))
    if method == "POST" and path.startswith(LAMBDA_INVOKE) and path.endswith("/invocations"):
        name = unquote(path.removeprefix(LAMBDA_INVOKE).removesuffix("/invocations"))
        return Requested("lambda", "lambda:InvokeFunction", [local_arn("AWS::Lambda::Function", name)])
    return _unmodelled(path, headers, body)


def _unmodelled(path: str, headers: dict[str, str], body: bytes) -> Requested | None:
    scope = CREDENTIAL_SCOPE.search(headers.get("authorization", ""))
    if scope is None:
        return None
    service = scope.group(1)
    amz_target = headers.get("x-amz-target", "")
    if "." in amz_target:
        return Requested(service, f"{service}:{amz_target.rsplit('.', 1)[1]}", ["*"])
    form = dict(parse_qsl(body.decode("utf-8", "replace"))) if body else {}
    if "Action" in form:  # the query protocol names its action in the form body
        return Requested(service, f"{service}:{form['Action']}", ["*"], protocol="query")
    return Requested(service, f"{service}:{path.strip('/').split('/', 1)[0] or 'Unknown'}", ["*"])


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
