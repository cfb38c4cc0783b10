"""Local mode's AWS ports under hostile input, as another process on the machine, or any web page the
developer has open, would probe them: nothing runs unsigned, no request is checked as one call and run
as another, moto's own API answers the administrator only, and no port speaks CORS."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.iam.policies import ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY
from tests.support.local_stack import running_stack

PAGE = {"Origin": "http://evil.example", "Content-Type": "text/plain"}  # what a cross-site fetch may send unasked


@pytest.fixture(scope="module")
def system(stack):
    with running_stack(stack, dynamodb_process=True) as system:
        yield system


def http(method: str, url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local http URL
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def signed(
    method: str,
    url: str,
    body: bytes,
    headers: dict,
    service: str,
    *,
    key: str = ADMIN_ACCESS_KEY,
    secret: str = ADMIN_SECRET_KEY,
):
    """`url` exactly as given, signed with SigV4 for `service` (botocore signs the path as written)."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(Credentials(key, secret), service, "us-east-1").add_auth(request)
    return http(method, url, body, dict(request.headers))


def orders_table(system) -> str:
    return next(t.name for t in system.stack.tables() if t.name.startswith("TablesOrders"))


def publish_function(system) -> str:
    return next(f.name for f in system.stack.functions().values() if f.handler == "handlers.publish.handler")


def stored_order(system, order_id: str) -> dict | None:
    return system.aws.client("dynamodb").get_item(TableName=orders_table(system), Key={"orderId": {"S": order_id}}).get("Item")


def planted(order_id: str) -> bytes:
    detail = {
        "orderId": order_id,
        "customerId": "victim",
        "type": "order_sent",
        "label": "Planted",
        "status": "active",
        "idempotencyKey": f"{order_id}/planted",
    }
    return json.dumps({"id": "x", "source": "evil", "detail-type": "Order Status Changed", "detail": detail}).encode()


@pytest.mark.parametrize(
    "path",
    [
        "/2015-03-31/functions/{fn}/invocation%73",
        "/2015-03-31/functions/{fn}/%69nvocations",
        "/2015-03-31/function%73/{fn}/invocations",
        "/2015-03-31/functions/{fn}/invocations",
        "/2015-03-31/functions/{fn}/invocations/",
        "//2015-03-31/functions/{fn}/invocations",
        "/2015-03-31/functions/{fn}/./invocations",
        "/2015-03-31/functions/x/../{fn}/invocations",
        "/2015-03-31/functions/%7Bfn%7D/invocations",
    ],
)
def test_no_path_runs_a_function_unsigned(system, path):
    order_id = f"LV-{abs(hash(path)) % 10_000}"
    status, headers, _ = http("POST", system.aws.endpoint + path.format(fn=publish_function(system)), planted(order_id), PAGE)
    assert status in (400, 403), status
    assert not any(name.lower().startswith("access-control-") for name in headers)
    assert stored_order(system, order_id) is None


def test_a_function_name_decoded_twice_is_not_the_one_checked(system):
    """`%2546` would be `%46` to the check and `F` to a second decoding: there is only one decoding."""
    name = publish_function(system)
    encoded = name.replace("F", "%2546", 1)
    status, _, body = signed(
        "POST", f"{system.aws.endpoint}/2015-03-31/functions/{encoded}/invocations", planted("LV-9001"), {}, "lambda"
    )
    assert status == 404 and b"Function not found" in body
    assert stored_order(system, "LV-9001") is None


def test_unknown_targets_and_query_actions_are_refused_signed_or_not(system):
    scan = json.dumps({"TableName": orders_table(system)}).encode()
    json_10 = {"Content-Type": "application/x-amz-json-1.0"}
    for target in ("DynamoDB_x.Scan", "DynamoDB_20120810", "DynamoDB_20120810.Nothing", "AWSEvents.Scan"):
        unsigned = http("POST", system.aws.endpoint + "/", scan, {**PAGE, "X-Amz-Target": target})
        admin = signed("POST", system.aws.endpoint + "/", scan, {**json_10, "X-Amz-Target": target}, "dynamodb")
        assert (unsigned[0], admin[0]) == (400, 400), target
        assert b"UnknownOperationException" in admin[2]
    get = json.dumps({"TableName": orders_table(system), "Key": {"orderId": {"S": "ZX-1001"}}}).encode()
    for endpoint in (system.aws.endpoint, system.aws.dynamodb.endpoint):
        status, _, body = signed(
            "POST", endpoint + "/?Action=Scan", get, {**json_10, "X-Amz-Target": "DynamoDB_20120810.GetItem"}, "dynamodb"
        )
        assert status == 400 and b"Items" not in body, endpoint
    # The same call, signed for another service than the one it is routed to, is refused too.
    status, _, body = signed(
        "POST", system.aws.endpoint + "/", get, {**json_10, "X-Amz-Target": "DynamoDB_20120810.GetItem"}, "sqs"
    )
    assert status == 400 and b"scoped to correct service" in body


def test_the_dynamodb_port_checks_signatures_and_speaks_no_cors(system):
    port = system.aws.dynamodb.endpoint
    status, headers, body = http("POST", port + "/?Action=Scan", json.dumps({"TableName": orders_table(system)}).encode(), PAGE)
    assert status == 403 and b"Items" not in body
    assert not any(name.lower().startswith("access-control-") for name in headers)
    status, headers, _ = http(
        "OPTIONS",
        port + "/",
        None,
        {
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-amz-target",
        },
    )
    assert status == 403 and not any(name.lower().startswith("access-control-") for name in headers)
    events = json.dumps({"Entries": []}).encode()
    status, _, _ = signed(
        "POST",
        port + "/",
        events,
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents.PutEvents"},
        "events",
    )
    assert status == 400  # this port serves DynamoDB only
    assert system.aws.client("dynamodb").get_item(TableName=orders_table(system), Key={"orderId": {"S": "ZX-1001"}})["Item"]


def test_motos_own_api_answers_the_administrator_only(system):
    machines = system.aws.client("stepfunctions").list_state_machines()["stateMachines"]
    for method in ("POST", "GET"):
        status, headers, _ = http(method, system.aws.endpoint + "/moto-api/reset", b"" if method == "POST" else None, PAGE)
        assert status in (400, 403) and not any(name.lower().startswith("access-control-") for name in headers)
    role = next(iter(system.stack.functions().values())).role
    credentials = system.iam.credentials(role, "probe")
    status, _, _ = signed(
        "POST",
        system.aws.endpoint + "/moto-api/reset",
        b"",
        {},
        "dynamodb",
        key=credentials.access_key,
        secret=credentials.secret_key,
    )
    assert status in (400, 403)
    assert system.aws.client("stepfunctions").list_state_machines()["stateMachines"] == machines  # nothing was wiped
    status, _, _ = http("GET", system.aws.endpoint + "/moto-api/", None, {})
    assert status in (400, 403)


def test_a_cors_preflight_is_refused_on_the_main_port(system):
    status, headers, _ = http(
        "OPTIONS",
        system.aws.endpoint + "/",
        None,
        {
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert status == 403 and not any(name.lower().startswith("access-control-") for name in headers)
