"""What an AWS API request asks IAM for: its action (`dynamodb:UpdateItem`) and the resources it
names (the table's ARN), read from the request as the service would read it; and the refusals, in the
shape each service's protocol answers them, so botocore raises the same ClientError as on AWS."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from local.iam import secret_arn
from local.template import ACCOUNT_ID, REGION

# X-Amz-Target prefix of a JSON-protocol service -> its IAM service prefix.
JSON_TARGETS = {
    "DynamoDB_20120810": "dynamodb",
    "AWSStepFunctions": "states",
    "secretsmanager": "secretsmanager",
    "AmazonSQS": "sqs",
}
LAMBDA_INVOKE = "/2015-03-31/functions/"


@dataclass(frozen=True)
class Requested:
    service: str
    action: str  # e.g. "dynamodb:UpdateItem"
    resources: list[str]


def classify(method: str, target: str, headers: dict[str, str], body: bytes) -> Requested | None:
    """The action and resources of a request to local mode's AWS endpoint; None if it is none we know."""
    path = urlsplit(target).path
    amz_target = headers.get("x-amz-target", "")
    if "." in amz_target:
        prefix, operation = amz_target.split(".", 1)
        service = JSON_TARGETS.get(prefix)
        if service is None:
            return None
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        return Requested(service, f"{service}:{operation}", _resources(service, operation, payload))
    if method == "POST" and path.startswith(LAMBDA_INVOKE) and path.endswith("/invocations"):
        name = unquote(path.removeprefix(LAMBDA_INVOKE).removesuffix("/invocations"))
        return Requested("lambda", "lambda:InvokeFunction", [function_arn(name)])
    return None


def function_arn(name_or_arn: str) -> str:
    return name_or_arn if name_or_arn.startswith("arn:") else f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name_or_arn}"


def _table_arn(name: str, index: str | None = None) -> str:
    arn = name if name.startswith("arn:") else f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"
    return f"{arn}/index/{index}" if index else arn


def _resources(service: str, operation: str, payload: dict[str, Any]) -> list[str]:
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
        return [secret_arn(str(payload["SecretId"]))]
    if service == "sqs" and "QueueUrl" in payload:
        return [f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{str(payload['QueueUrl']).rstrip('/').rsplit('/', 1)[-1]}"]
    return ["*"]


def refusal(service: str, code: str, message: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(HTTP status, JSON body, headers) with which `service` answers an error `code`."""
    if service == "lambda":  # REST-JSON: the type is in x-amzn-ErrorType
        status = 403 if code in ("AccessDeniedException", "InvalidSignatureException") else 400
        return status, {"Type": "User", "Message": message}, {"x-amzn-ErrorType": code}
    headers = {"x-amzn-ErrorType": code}
    if service == "sqs":  # JSON protocol with query-compatible error codes
        headers["x-amzn-query-error"] = f"{'AccessDenied' if code == 'AccessDeniedException' else code};Sender"
    return 400, {"__type": f"com.amazon.coral.service#{code}", "message": message, "Message": message}, headers
