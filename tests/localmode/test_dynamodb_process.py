"""moto's DynamoDB in a process of its own (local/aws/dynamodb_process.py) refuses what the in-process one
refuses: unsigned and wrongly signed calls, calls a role's policies do not allow, and the fault plan's
throttling, all in AWS's shapes; and the main endpoint still answers DynamoDB calls (forwarded)."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.aws.services import local_client
from local.faults.plan import PLAN
from tests.localmode.test_iam import role_of
from tests.support.local_stack import running_stack

WORKER_USER_AGENT = "exec-env/AWS_Lambda_python3.14"  # what botocore adds inside Lambda (and local workers)


@pytest.fixture(scope="module")
def system(stack):
    with running_stack(stack, dynamodb_process=True) as system:
        yield system


def connections_table(system) -> str:
    (name,) = [t.name for t in system.stack.tables() if t.name.startswith("TablesConnections")]
    return name


def as_function(system, handler: str, **config):
    """A DynamoDB client at the DynamoDB process, signed with `handler`'s own worker credentials."""
    (spec,) = [f for f in system.stack.functions().values() if f.handler == f"handlers.{handler}.handler"]
    credentials = system.iam.credentials(role_of(system.stack, handler), spec.name)
    return boto3.client(
        "dynamodb",
        endpoint_url=system.aws.dynamodb.endpoint,
        region_name="us-east-1",
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.session_token,
        config=Config(retries={"total_max_attempts": 1}, **config),
    )


def test_workers_reach_dynamodb_in_its_own_process(system):
    assert system.aws.environment["AWS_ENDPOINT_URL_DYNAMODB"] == system.aws.dynamodb.endpoint != system.aws.endpoint
    assert system.aws.dynamodb._process.is_alive()


def test_a_call_the_role_allows_is_served_and_one_it_does_not_is_refused(system):
    table = connections_table(system)
    connect = as_function(system, "connect")
    connect.put_item(TableName=table, Item={"connectionId": {"S": "probe-1"}, "customerId": {"S": "c-1"}})
    with pytest.raises(ClientError) as refused:
        connect.delete_table(TableName=table)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "dynamodb:DeleteTable" in refused.value.response["Error"]["Message"]


def test_an_unsigned_or_wrongly_signed_call_is_refused(system):
    table = connections_table(system)
    stranger = boto3.client(
        "dynamodb",
        endpoint_url=system.aws.dynamodb.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="not-the-secret",
        config=Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(ClientError) as refused:
        stranger.get_item(TableName=table, Key={"connectionId": {"S": "probe-1"}})
    assert refused.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_the_main_endpoint_forwards_dynamodb_calls(system):
    table = connections_table(system)
    admin = local_client(system.aws.endpoint, "dynamodb")
    admin.put_item(TableName=table, Item={"connectionId": {"S": "probe-2"}, "customerId": {"S": "c-2"}})
    direct = local_client(system.aws.dynamodb.endpoint, "dynamodb")
    assert direct.get_item(TableName=table, Key={"connectionId": {"S": "probe-2"}})["Item"]["customerId"] == {"S": "c-2"}


def test_the_fault_plan_strikes_in_the_dynamodb_process_and_reports_there(system):
    table = connections_table(system)
    worker = as_function(system, "connect", user_agent_extra=WORKER_USER_AGENT)
    before = PLAN.report()["injected"]["dynamodb"]
    PLAN.configure({"dynamodb": 1.0, "seed": 7})
    try:
        with pytest.raises(ClientError) as struck:
            worker.put_item(TableName=table, Item={"connectionId": {"S": "probe-3"}, "customerId": {"S": "c-3"}})
    finally:
        PLAN.configure({"dynamodb": 0.0})
    assert struck.value.response["Error"]["Code"] in ("ThrottlingException", "InternalServerError")
    assert PLAN.report()["injected"]["dynamodb"] == before + 1
    worker.put_item(TableName=table, Item={"connectionId": {"S": "probe-3"}, "customerId": {"S": "c-3"}})  # served again
