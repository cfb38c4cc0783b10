"""Local mode's AWS side: moto's server app on a local port behind the layers of front.py (which also
run the project's handlers for Lambda's Invoke), the stack's resources created in it, and clients of it.

Step Functions' `lambda:invoke` tasks reach that endpoint because moto's interpreter builds its
clients against `http://localhost:$MOTO_PORT` in server mode.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from moto.moto_server.werkzeug_app import create_backend_app

from local.aws import moto_patches
from local.aws.dynamodb_process import DynamoDbProcess, DynamoDbRouter
from local.aws.eventbridge import create_buses_and_rules
from local.aws.front import AwsFront, DynamoDbFaults, LambdaInvokeMiddleware, SerializedDynamoDb
from local.aws.wsgi_server import KeepAliveWsgiServer
from local.faults.plan import PLAN
from local.iam.policies import ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY, Credentials, LocalIam
from local.runtime.workers import LambdaRuntime
from local.template.names import REGION
from local.template.specs import FunctionSpec, TableSpec
from local.template.stack import SynthesizedStack

REQUESTED = "local.requested"  # the environ key under which AwsFront leaves what a request was classified as
DYNAMODB_TARGET = "DynamoDB_20120810."
# moto's server logs every request through werkzeug; local mode prints its own lines instead.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


class _FirstLine(logging.Filter):
    """moto's Step Functions interpreter logs every failed state with its whole parse tree: keep the first line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = message.split(" at '(", 1)[0][:400], None
        return True


# A filter on a logger does not see its children's records: filter at a handler of our own instead.
_moto_handler = logging.StreamHandler()
_moto_handler.addFilter(_FirstLine())
logging.getLogger("moto.stepfunctions").addHandler(_moto_handler)
logging.getLogger("moto.stepfunctions").propagate = False
# The documented local credentials: local mode's administrator (see local/iam/policies.py).
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": ADMIN_ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET_KEY,
    "AWS_SESSION_TOKEN": "local",
}


class LocalAws:
    """moto in server mode (in a thread of this process) plus the Lambda Invoke endpoint, every AWS API
    request checked first by AwsFront against `iam`, the template's IAM policies (None: no roles, so
    only the administrator may call). With
    `dynamodb_process`, DynamoDB is served by moto in a process of its own (local/aws/dynamodb_process.py),
    started by `provision`; without it, everything stays in this process (for code that reads moto's
    DynamoDB backend directly, as the cost benchmark's capacity meter does)."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, iam: LocalIam | None = None, *, dynamodb_process: bool = False
    ) -> None:
        moto_patches.apply()
        self.runtime: LambdaRuntime | None = None
        self.iam = iam or LocalIam({})
        self.host = host
        self.dynamodb: DynamoDbProcess | None = None
        self._dynamodb_process = dynamodb_process
        moto = SerializedDynamoDb(DynamoDbFaults(moto_patches.CachingDispatcher(create_backend_app)))
        app = AwsFront(LambdaInvokeMiddleware(moto, lambda: self.runtime), self.iam)
        self._server = KeepAliveWsgiServer(host, port, app)
        self.port = self._server.server_address[1]
        self.endpoint = f"http://{host}:{self.port}"
        # moto's Step Functions interpreter calls services at localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.port)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)

    def start(self) -> LocalAws:
        self._thread.start()
        return self

    def wrap_app(self, wrapper: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
        """Put a WSGI middleware in front of every request (the benchmarks meter DynamoDB this way)."""
        self._server.app = wrapper(self._server.app)

    def stop(self) -> None:
        if self.runtime:
            self.runtime.close()
        self._server.shutdown()
        self._thread.join(timeout=5)
        if self.dynamodb is not None:
            PLAN.delegate("dynamodb", None)
            self.dynamodb.stop()

    @property
    def environment(self) -> dict[str, str]:
        """What a process needs to reach these services with boto3."""
        return {
            **FAKE_CREDENTIALS,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb.endpoint if self.dynamodb else self.endpoint,
            "AWS_ENDPOINT_URL_SFN": self.endpoint,
            "AWS_ENDPOINT_URL_STEPFUNCTIONS": self.endpoint,
            "AWS_ENDPOINT_URL_LAMBDA": self.endpoint,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.endpoint,
            "AWS_ENDPOINT_URL_SQS": self.endpoint,
            "AWS_ENDPOINT_URL_EVENTBRIDGE": self.endpoint,
        }

    def client(self, service: str) -> Any:
        return local_client(self.endpoint, service)

    def reset(self) -> None:
        """Forget every resource of every service in this process's moto (moto's own /moto-api/reset,
        which answers the administrator only)."""
        request = AWSRequest(method="POST", url=f"{self.endpoint}/moto-api/reset", data=b"")
        SigV4Auth(BotoCredentials(ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY), "local", REGION).add_auth(request)
        prepared = request.prepare()
        signed = urllib.request.Request(prepared.url, data=b"", headers=dict(prepared.headers), method="POST")  # noqa: S310
        with urllib.request.urlopen(signed, timeout=10) as answer:  # noqa: S310 - local mode's own http:// endpoint
            assert answer.status == 200, answer.status

    def client_as(self, function: FunctionSpec, service: str) -> Any:
        """A client signing as `function`'s execution role, as Lambda itself does for it (destinations)."""
        if function.role is None:
            return self.client(service)
        return local_client(self.endpoint, service, self.iam.credentials(function.role, function.name))

    def provision(self, stack: SynthesizedStack, secret_value: str) -> None:
        roles = {machine.role for machine in stack.state_machines()}
        if len(roles) > 1:
            raise NotImplementedError("local mode signs every state machine's tasks as one role; this stack has several")
        for role in roles:
            assert role is not None, "a state machine without a role"
            credentials = self.iam.credentials(role, "states")
            moto_patches.sign_interpreter_calls_as(credentials.access_key, credentials.secret_key, credentials.session_token)
        self.iam.mint_for_functions(stack)
        if self._dynamodb_process and self.dynamodb is None:
            self.dynamodb = DynamoDbProcess(self.host, self.iam)
            PLAN.delegate("dynamodb", self.dynamodb)
            self._server.app = DynamoDbRouter(self._server.app, self.dynamodb)
        provision(stack, self.client, secret_value)


def local_client(endpoint: str, service: str, credentials: Credentials | None = None) -> Any:
    """A boto3 client for one of local mode's services at `endpoint`, signing as the administrator
    (local mode's fake credentials) or with `credentials` (a role's, minted by LocalIam)."""
    keys = credentials.environment() if credentials is not None else FAKE_CREDENTIALS
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=keys["AWS_SESSION_TOKEN"],
    )


def provision(stack: SynthesizedStack, client: Callable[[str], Any], secret_value: str) -> None:
    """Create the stack's tables, queues, topics, secrets (with `secret_value`: CloudFormation would
    generate one) and state machines, then replay its seed SDK calls. `client(service)` makes the boto3
    clients. The alarms are local/aws/cloudwatch.py's."""
    dynamodb = client("dynamodb")
    for table in stack.tables():
        create_table(dynamodb, table)
    sqs = client("sqs")
    for name in stack.queues():
        sqs.create_queue(QueueName=name)
    sns = client("sns")
    for name in stack.topics():
        sns.create_topic(Name=name)
    secrets = client("secretsmanager")
    for name in stack.secrets():
        secrets.create_secret(Name=name, SecretString=secret_value)
    sfn = client("stepfunctions")
    for machine in stack.state_machines():
        sfn.create_state_machine(name=machine.name, definition=machine.definition, roleArn=machine.role_arn, type=machine.type)
    create_buses_and_rules(client("events"), stack)
    for call in stack.sdk_calls():
        # AwsCustomResource names calls as the JS SDK does: service "DynamoDB", action "putItem".
        getattr(client(call.service.lower()), _snake(call.action))(**call.parameters)


def create_table(dynamodb: Any, table: TableSpec) -> None:
    extra = {"GlobalSecondaryIndexes": table.global_secondary_indexes} if table.global_secondary_indexes else {}
    dynamodb.create_table(
        TableName=table.name,
        KeySchema=table.key_schema,
        AttributeDefinitions=table.attribute_definitions,
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    if table.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=table.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
        )


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
