"""Local mode enforces IAM from the synthesized template: a call a role does not allow fails as it
would on AWS (AccessDeniedException, same code and shape for botocore), for the handlers, the
authorizer and the state machine's own tasks alike."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from order_tracking.connections.store import CONNECTIONS_BY_CUSTOMER

from local.aws.services import FAKE_CREDENTIALS
from local.iam.policies import LocalIam
from local.template.stack import SynthesizedStack
from tests.support.events import websocket_event
from tests.support.local_stack import running_stack


def template_without_grant(cdk_out: Path, tmp_path: Path, role_prefix: str, action: str, resource_hint: str = "") -> Path:
    """A copy of the assembly whose policy for the role `role_prefix*` no longer grants `action`
    (on resources whose text contains `resource_hint`). The assets are linked, not copied."""
    out = tmp_path / "cdk.out"
    out.mkdir()
    for entry in cdk_out.iterdir():
        if entry.name.endswith(".template.json"):
            continue
        (out / entry.name).symlink_to(entry.resolve())
    (template_file,) = cdk_out.glob("*.template.json")
    template = json.loads(template_file.read_text())
    removed = 0
    for resource in template["Resources"].values():
        roles = json.dumps(resource["Properties"].get("Roles", []))
        if resource["Type"] != "AWS::IAM::Policy" or f'"{role_prefix}' not in roles:
            continue
        kept = []
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if action in actions and resource_hint in json.dumps(statement["Resource"]):
                rest = [a for a in actions if a != action]
                removed += 1
                if rest:
                    kept.append(copy.deepcopy(statement) | {"Action": rest})
                continue
            kept.append(statement)
        resource["Properties"]["PolicyDocument"]["Statement"] = kept
    assert removed == 1, f"expected exactly one {action} grant to {role_prefix}*, found {removed}"
    (out / template_file.name).write_text(json.dumps(template))
    return out


def role_of(stack: SynthesizedStack, handler: str) -> str:
    (spec,) = [f for f in stack.functions().values() if f.handler == f"handlers.{handler}.handler"]
    return spec.role


def signed_as(system, role: str, service: str):
    credentials = LocalIam.credentials(system.iam, role, "probe")
    return boto3.client(
        service,
        endpoint_url=system.aws.endpoint,
        region_name="us-east-1",
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.session_token,
    )


def wait_for_end(sfn, execution_arn: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while (described := sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution did not end"
        time.sleep(0.1)
    return described


def dead_letters(system) -> list[dict]:
    sqs = system.aws.client("sqs")
    (queue,) = [q for q in system.stack.queues() if q.startswith("FailedTrackings")]
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


@pytest.fixture
def system(stack):
    with running_stack(stack) as running:
        yield running


def test_a_role_may_make_the_calls_it_is_granted_and_no_other(system, stack):
    connections = next(t.name for t in stack.tables() if "Connections" in t.name)
    trackings = next(t.name for t in stack.tables() if "Trackings" in t.name)
    dynamodb = signed_as(system, role_of(stack, "connect"), "dynamodb")
    # Granted to $connect: PutItem on the connections table.
    dynamodb.put_item(TableName=connections, Item={"connectionId": {"S": "probe"}, "customerId": {"S": "demo"}})
    # Not granted: DeleteItem there, and anything on the trackings table.
    for call in (
        lambda: dynamodb.delete_item(TableName=connections, Key={"connectionId": {"S": "probe"}}),
        lambda: dynamodb.get_item(TableName=trackings, Key={"trackingId": {"S": "x"}}),
    ):
        with pytest.raises(ClientError) as denied:
            call()
        error = denied.value.response
        assert error["Error"]["Code"] == "AccessDeniedException"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
        who = f"assumed-role/{role_of(stack, 'connect')}/probe"
        assert f"{who} is not authorized to perform: dynamodb:" in error["Error"]["Message"]
    # The table's index counts as its own resource: connect may Query it (the per-customer cap).
    dynamodb.query(
        TableName=connections,
        IndexName=CONNECTIONS_BY_CUSTOMER,
        KeyConditionExpression="customerId = :c",
        ExpressionAttributeValues={":c": {"S": "demo"}},
    )


def test_only_the_state_machine_role_may_invoke_emit(system, stack):
    (emit,) = [f for f in stack.functions().values() if f.handler == "handlers.emit.handler"]
    lambda_client = signed_as(system, role_of(stack, "track_order"), "lambda")
    with pytest.raises(ClientError) as denied:
        lambda_client.invoke(FunctionName=emit.arn, Payload=b"{}")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_keys_and_wrong_secrets_are_refused_as_aws_refuses_them(system, stack):
    table = stack.tables()[0].name
    for key, secret, code in (
        ("AKIAUNKNOWN", "whatever", "UnrecognizedClientException"),
        (FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"], "not-the-secret", "InvalidSignatureException"),
    ):
        client = boto3.client(
            "dynamodb",
            endpoint_url=system.aws.endpoint,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
        )
        with pytest.raises(ClientError) as refused:
            client.describe_table(TableName=table)
        assert refused.value.response["Error"]["Code"] == code
    # The documented local credentials are the administrator's: a user's own tools work.
    assert system.aws.client("dynamodb").describe_table(TableName=table)["Table"]["TableName"] == table


def test_a_handler_whose_role_lost_a_grant_fails_locally_with_access_denied(cdk_out, tmp_path):
    # emit stores its event and takes the send lease with UpdateItem on the trackings table; take that away.
    broken = SynthesizedStack.load(
        template_without_grant(cdk_out, tmp_path, "HandlersEmitFunctionRole", "dynamodb:UpdateItem", "TablesTrackings")
    )
    with running_stack(broken) as system:
        system.management.open("c-1")
        connect = websocket_event("$connect", "c-1", authorizer={"customerId": "demo"})
        assert system.runtime.invoke(system.routes["$connect"], connect).payload == {"statusCode": 200}
        body = json.dumps({"type": "track_order", "orderId": "ZX-1003"})
        track = websocket_event("track_order", "c-1", body, {"customerId": "demo"})
        assert system.runtime.invoke(system.routes["track_order"], track).payload == {"statusCode": 200}
        deadline = time.monotonic() + 30
        while not (letters := dead_letters(system)):
            assert time.monotonic() < deadline, "the failed execution never reached the dead-letter queue"
        (letter,) = letters
        assert "AccessDeniedException" in letter["cause"]
        assert "is not authorized to perform: dynamodb:UpdateItem on resource: " in letter["cause"]
        assert ":table/TablesTrackings" in letter["cause"]


def test_a_state_machine_whose_role_lost_a_grant_cannot_invoke_emit(cdk_out, tmp_path):
    broken = SynthesizedStack.load(template_without_grant(cdk_out, tmp_path, "WorkflowStateMachineRole", "lambda:InvokeFunction"))
    with running_stack(broken) as system:
        sfn = system.aws.client("stepfunctions")
        (machine,) = broken.state_machines()
        events = [{"seq": 1, "orderId": "ZX-1003", "type": "order_received", "label": "Order received", "status": "ok"}]
        request = {"trackingId": "t-1", "orderId": "ZX-1003", "events": events, "minDelay": 1, "maxDelay": 1}
        execution = sfn.start_execution(stateMachineArn=machine.arn, name="t-1", input=json.dumps(request))["executionArn"]
        assert wait_for_end(sfn, execution)["status"] == "FAILED"
        (letter,) = dead_letters(system)
        assert letter["trackingId"] == "t-1"
        assert "AccessDenied" in letter["error"] + letter["cause"]
        assert "lambda:InvokeFunction" in letter["cause"]


def test_a_call_of_a_service_local_mode_does_not_model_needs_a_grant_too(system, stack):
    # moto would happily serve SNS; on AWS the connect role may not publish, so here it may not either.
    sns = signed_as(system, role_of(stack, "connect"), "sns")
    with pytest.raises(ClientError) as denied:
        sns.publish(TopicArn="arn:aws:sns:us-east-1:123456789012:anything", Message="hi")
    assert denied.value.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")
    assert "sns:Publish" in denied.value.response["Error"]["Message"]
