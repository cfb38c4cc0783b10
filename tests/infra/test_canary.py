"""`-c canary=true`: the smoke checks that need only the endpoint run as a CloudWatch Synthetics
canary every 5 minutes, and a failed run pages through the alarm topic. Off by default."""

from __future__ import annotations

import subprocess

import pytest

from local.template.stack import SynthesizedStack
from tests.infra.test_template import resources
from tests.support.canary_bundle import bundle_of, canary_resource, handler_command


@pytest.fixture(scope="module")
def canary_stack(canary_cdk_out) -> SynthesizedStack:
    return SynthesizedStack.load(canary_cdk_out)


def test_no_canary_unless_asked(stack, prod_cdk_out):
    for template in (stack.template, SynthesizedStack.load(prod_cdk_out).template):
        assert resources(template, "AWS::Synthetics::Canary") == {}
        assert not [
            a
            for a in resources(template, "AWS::CloudWatch::Alarm").values()
            if a["Properties"].get("MetricName") == "SuccessPercent"
        ]


def test_the_canary_runs_the_endpoint_checks_every_five_minutes_against_the_stacks_endpoint(canary_stack):
    properties = canary_resource(canary_stack)["Properties"]
    assert properties["RuntimeVersion"] == "syn-python-selenium-7.0"
    assert properties["Schedule"]["Expression"] == "rate(5 minutes)"
    assert properties["StartCanaryAfterCreation"] is True
    assert properties["RunConfig"]["TimeoutInSeconds"] == 240  # within the 5 minutes between runs
    env = properties["RunConfig"]["EnvironmentVariables"]
    (api,) = resources(canary_stack.template, "AWS::ApiGatewayV2::Api")
    assert {"Ref": api} in env["WEBSOCKET_URL"]["Fn::Join"][1]
    assert env["WEBSOCKET_URL"]["Fn::Join"][1][0] == "wss://"
    (secret,) = resources(canary_stack.template, "AWS::SecretsManager::Secret")
    assert env["SIGNING_SECRET_ID"] == {"Ref": secret}
    assert (env["MIN_DELAY_SECONDS"], env["MAX_DELAY_SECONDS"]) == ("3", "10")  # the stack's delays


def test_the_canary_role_reads_the_signing_secret_and_nothing_of_the_data(canary_stack):
    role = canary_resource(canary_stack)["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    policies = [
        p for p in resources(canary_stack.template, "AWS::IAM::Policy").values() if {"Ref": role} in p["Properties"]["Roles"]
    ]
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    (secret,) = resources(canary_stack.template, "AWS::SecretsManager::Secret")
    assert statements == [
        {
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            "Effect": "Allow",
            "Resource": {"Ref": secret},
        }
    ]
    inline = canary_stack.resources[role]["Properties"]["Policies"]
    actions = {
        a
        for p in inline
        for s in p["PolicyDocument"]["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert not [a for a in actions if a.split(":")[0] in ("dynamodb", "states", "execute-api", "events", "sqs")]


def test_a_failed_canary_run_pages_through_the_alarm_topic(canary_stack):
    (canary,) = resources(canary_stack.template, "AWS::Synthetics::Canary")
    (alarm,) = [
        a["Properties"]
        for a in resources(canary_stack.template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "SuccessPercent"
    ]
    (topic,) = resources(canary_stack.template, "AWS::SNS::Topic")
    assert alarm["Namespace"] == "CloudWatchSynthetics"
    assert alarm["Dimensions"] == [{"Name": "CanaryName", "Value": {"Ref": canary}}]
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Minimum",
        300,
        100,
        "LessThanThreshold",
    )  # one failed run in five minutes is enough
    assert alarm["AlarmActions"] == [{"Ref": topic}]


def test_the_bundle_holds_its_code_and_dependencies_and_imports_on_the_runtime_alone(canary_stack, tmp_path):
    python = bundle_of(canary_stack) / "python"
    for part in (
        "order_tracking_canary.py",
        "smoke/checks.py",
        "order_tracking/connections/tokens.py",
        "infra/seed_orders.json",
        "jwt",
        "websockets",
    ):
        assert (python / part).exists(), part
    assert not list(python.rglob("*.so")), "a compiled extension is built for this machine's Python, not the runtime's"
    argv, env = handler_command(canary_stack, tmp_path, {})
    not_in_the_runtime = ("pydantic", "aws_lambda_powertools", "cryptography", "local")
    imported_only = f"; import sys; print(sorted(m for m in sys.modules if m.split('.')[0] in {not_in_the_runtime}))"
    argv[-1] = argv[-1].split(";")[0] + imported_only  # import the handler's module, do not call it
    imported = subprocess.run(argv, env=env, capture_output=True, text=True, check=True, timeout=60)
    assert imported.stdout.strip() == "[]"
