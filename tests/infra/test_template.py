"""The synthesized stack: what `cdk deploy` would create."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Match, Template

from infra.config import StackConfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def raw(stack) -> dict:
    return stack.template


@pytest.fixture(scope="module")
def template(raw) -> Template:
    return Template.from_json(raw)


def resources(raw: dict, kind: str) -> dict[str, dict]:
    return {k: v for k, v in raw["Resources"].items() if v["Type"] == kind}


def definition(raw: dict) -> dict:
    (machine,) = resources(raw, "AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))


def test_websocket_api_routes_on_the_frame_type(template):
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Api", {"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.type"}
    )
    for route in ("$connect", "$disconnect", "track_order", "ping", "$default"):
        template.has_resource_properties("AWS::ApiGatewayV2::Route", {"RouteKey": route})
    template.resource_count_is("AWS::ApiGatewayV2::Route", 5)
    # Handlers' return bodies reach the client on the routes that answer.
    template.resource_count_is("AWS::ApiGatewayV2::RouteResponse", 3)


def test_stage_auto_deploys_with_throttling(template):
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": "dev",
            "AutoDeploy": True,
            "DefaultRouteSettings": {"ThrottlingRateLimit": 100, "ThrottlingBurstLimit": 200},
        },
    )


def test_wss_url_is_an_output(raw):
    url = raw["Outputs"]["WebSocketUrl"]["Value"]["Fn::Join"][1]
    assert url[0] == "wss://" and url[-1].endswith("/dev")


def test_every_handler_runs_the_newest_python_on_arm64(raw):
    functions = [
        f["Properties"]
        for f in resources(raw, "AWS::Lambda::Function").values()
        if f["Properties"]["Runtime"].startswith("python")
    ]
    handlers = {f["Handler"] for f in functions}
    assert handlers == {f"handlers.{m}.handler" for m in ("connect", "disconnect", "track_order", "ping", "default", "emit")}
    for function in functions:
        assert function["Runtime"] == "python3.14"
        assert function["Architectures"] == ["arm64"]
        assert function["TracingConfig"] == {"Mode": "Active"}


def test_tables_are_on_demand_with_ttl_and_point_in_time_recovery(raw):
    tables = {
        t["Properties"]["KeySchema"][0]["AttributeName"]: t["Properties"] for t in resources(raw, "AWS::DynamoDB::Table").values()
    }
    assert set(tables) == {"connectionId", "trackingId", "orderId"}
    for key, props in tables.items():
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        if key != "orderId":
            assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_seed_orders_are_loaded_by_sdk_calls_not_handler_code(stack):
    calls = stack.sdk_calls()
    assert {c.parameters["Item"]["orderId"]["S"] for c in calls} == {"ZX-1001", "ZX-1002", "ZX-1003"}
    assert {(c.service, c.action) for c in calls} == {("DynamoDB", "putItem")}
    handler_code = "".join(p.read_text() for p in (ROOT / "lambdas").rglob("*.py"))
    assert "ZX-1001" not in handler_code and "Order received" not in handler_code


def test_state_machine_is_express_and_waits_a_random_delay(raw, template):
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "EXPRESS",
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like({"Level": "ALL"}),
        },
    )
    states = definition(raw)["States"]
    assert states["Prepare"]["Parameters"]["maxDelayExclusive.$"] == "States.MathAdd($.maxDelay, 1)"
    each = states["EachEvent"]
    assert each["Type"] == "Map" and each["MaxConcurrency"] == 1
    inner = each["ItemProcessor"]["States"]
    assert inner["DrawDelay"]["Parameters"] == {"seconds.$": "States.MathRandom($.minDelay, $.maxDelayExclusive)"}
    assert inner["WaitDelay"] == {"Type": "Wait", "SecondsPath": "$.delay.seconds", "Next": "Emit"}
    assert inner["FirstEvent?"]["Choices"][0] == {"Variable": "$.event.seq", "NumericEquals": 1, "Next": "Emit"}
    assert inner["Emit"]["Resource"].endswith(":states:::lambda:invoke")
    assert any("TransientFault" in r["ErrorEquals"] for r in inner["Emit"]["Retry"])
    assert each["Catch"] == [{"ErrorEquals": ["Tracking.Superseded"], "Next": "Superseded"}]


def test_grants_are_least_privilege_without_wildcard_actions(raw):
    statements = [s for p in resources(raw, "AWS::IAM::Policy").values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    actions = [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert not [a for a in actions if "*" in a]
    assert "execute-api:ManageConnections" in actions
    assert "states:StartExecution" in actions
    assert "lambda:InvokeFunction" in actions


def test_no_aws_managed_policy_on_our_functions(raw):
    roles = resources(raw, "AWS::IAM::Role")
    managed = [k for k, r in roles.items() if r["Properties"].get("ManagedPolicyArns") and k.startswith("Handlers")]
    assert managed == []


def test_cfn_lint_reports_no_errors_or_warnings(cdk_out):
    templates = [str(p) for p in Path(cdk_out).glob("*.template.json")]
    cfn_lint = Path(sys.executable).with_name("cfn-lint")  # reads .cfnlintrc from the repository root
    result = subprocess.run([str(cfn_lint), *templates], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cdk_nag_aws_solutions_has_no_unacknowledged_findings(cdk_out):
    report = json.loads((Path(cdk_out) / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success"
    assert nag["violations"] == []
    for suppressed in nag["suppressedViolations"]:
        assert len(suppressed.get("reason", "")) > 40, suppressed["ruleName"]


@pytest.mark.parametrize(("low", "high"), [(5, 4), (-1, 3), (0, 100)])
def test_config_refuses_delays_that_cannot_work(low, high):
    with pytest.raises(ValueError):
        StackConfig("dev", low, high, 27, 100, 200, 24).validate()
