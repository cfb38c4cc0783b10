"""What a real AWS account would refuse or get wrong, checked in the synthesized templates of both
stages: no test here deploys, so each pins the template shape that the AWS documentation requires."""

from __future__ import annotations

import json
from importlib.metadata import version

import pytest

from infra.config import MAX_STAGE_LENGTH, locked_version
from infra.handler_function import powertools_layer_parameter
from local.template.stack import SynthesizedStack
from local.template.synth import ensure_synth
from tests.infra.test_template import resources

# The longest region names in the commercial, GovCloud and ISO partitions.
LONG_REGIONS = ["ap-southeast-5", "us-gov-west-1", "us-isob-east-1", "eu-central-2"]
LONGEST_STAGE = "p" * MAX_STAGE_LENGTH
OVERRIDE_LAYER = "arn:aws:lambda:eu-south-2:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:30"


@pytest.fixture(scope="module", params=["dev", "prod"])
def template(request) -> dict:
    if request.param == "dev":
        return request.getfixturevalue("stack").template
    return SynthesizedStack.load(request.getfixturevalue("prod_cdk_out")).template


@pytest.fixture(scope="module")
def configured(tmp_path_factory) -> dict:
    """The longest stage name, a reservation for emit and a layer ARN given in context."""
    context = {
        "stage": LONGEST_STAGE,
        "emitReservedConcurrency": "20",
        "powertoolsLayerArn": OVERRIDE_LAYER,
        "aws:cdk:bundling-stacks": [],
    }
    out = ensure_synth(tmp_path_factory.mktemp("configured") / "cdk.out", context=context)
    return SynthesizedStack.load(out).template


def handler_functions(template: dict) -> dict[str, dict]:
    return {
        f["Properties"]["Handler"]: f["Properties"]
        for f in resources(template, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler", "").startswith("handlers.")
    }


def join_for_region(value, region: str, stack_name: str) -> str:
    """A name built with Fn::Join from literals, AWS::Region and AWS::StackName, for one region."""
    if isinstance(value, str):
        return value
    (parts,) = [value["Fn::Join"][1]]
    pseudo = {"AWS::Region": region, "AWS::StackName": stack_name}
    return "".join(p if isinstance(p, str) else pseudo[p["Ref"]] for p in parts)


# 1. Alarms reach the topic -------------------------------------------------------------------


def test_cloudwatch_may_publish_this_stacks_alarms_to_the_alarm_topic(template):
    (topic_id,) = resources(template, "AWS::SNS::Topic")
    (policy,) = resources(template, "AWS::SNS::TopicPolicy").values()
    assert policy["Properties"]["Topics"] == [{"Ref": topic_id}]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    (allow,) = allows
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    assert allow["Resource"] == {"Ref": topic_id}
    # Scoped to this stack's alarms, every one of them, in this account.
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    sources = allow["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert sorted(s["Fn::GetAtt"][0] for s in sources) == sorted(alarms)
    assert all(s["Fn::GetAtt"][1] == "Arn" for s in sources)
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    # Every alarm notifies that topic, and the TLS-only Deny is still there.
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": topic_id}] for a in alarms.values())
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements)


# 2. A fresh account's concurrency quota --------------------------------------------------------


def test_no_stage_reserves_concurrency_unless_configured(template, configured):
    # A new account's concurrency quota is 10, the minimum unreserved; any default reservation fails there.
    assert {p.get("ReservedConcurrentExecutions") for p in handler_functions(template).values()} == {None}
    reserved = {h: p.get("ReservedConcurrentExecutions") for h, p in handler_functions(configured).items()}
    assert reserved.pop("handlers.emit.handler") == 20
    assert set(reserved.values()) == {None}


# 3. Step Functions logs as vended logs ----------------------------------------------------------


def test_the_state_machine_logs_to_a_vended_logs_group(template):
    (machine,) = resources(template, "AWS::StepFunctions::StateMachine").values()
    (destination,) = machine["Properties"]["LoggingConfiguration"]["Destinations"]
    group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    name = template["Resources"][group_id]["Properties"]["LogGroupName"]["Fn::Join"][1]
    assert name[0] == "/aws/vendedlogs/states/"
    assert {"Ref": "AWS::StackName"} in name  # one group per stack, and per stack instance:
    assert {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]} in name
    assert "RetentionInDays" in template["Resources"][group_id]["Properties"]


# 4. Account-wide CloudFront names ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["AWS::CloudFront::OriginAccessControl", "AWS::CloudFront::ResponseHeadersPolicy"])
def test_cloudfront_names_differ_by_region_and_stage(template, kind):
    (api,) = resources(template, "AWS::ApiGatewayV2::Api").values()
    stage = api["Properties"]["Name"].removeprefix("order-tracking-")
    every_name = set()
    for resource in resources(template, kind).values():  # the page's and the modules' headers policies
        config = resource["Properties"].get("OriginAccessControlConfig") or resource["Properties"]["ResponseHeadersPolicyConfig"]
        names = {region: join_for_region(config["Name"], region, f"OrderTracking-{stage}") for region in LONG_REGIONS}
        assert len(set(names.values())) == len(LONG_REGIONS)
        assert all(region in name and f"OrderTracking-{stage}" in name for region, name in names.items())
        every_name |= set(names.values())
    assert len(every_name) == len(LONG_REGIONS) * len(resources(template, kind))


def test_the_dashboard_name_differs_by_region_and_stage(template):
    """Dashboard names are account-wide: the same stage in a second region must not collide."""
    (dashboard,) = resources(template, "AWS::CloudWatch::Dashboard").values()
    (api,) = resources(template, "AWS::ApiGatewayV2::Api").values()
    stage = api["Properties"]["Name"].removeprefix("order-tracking-")
    names = {region: join_for_region(dashboard["Properties"]["DashboardName"], region, "x") for region in LONG_REGIONS}
    assert len(set(names.values())) == len(LONG_REGIONS)
    assert all(name == f"OrderTracking-{stage}-{region}" for region, name in names.items())


def test_the_origin_access_control_name_fits_64_characters_for_the_longest_stage(configured):
    (oac,) = resources(configured, "AWS::CloudFront::OriginAccessControl").values()
    name = oac["Properties"]["OriginAccessControlConfig"]["Name"]
    for region in LONG_REGIONS:
        assert len(join_for_region(name, region, f"OrderTracking-{LONGEST_STAGE}")) <= 64
    for policy in resources(configured, "AWS::CloudFront::ResponseHeadersPolicy").values():
        for region in LONG_REGIONS:
            name = policy["Properties"]["ResponseHeadersPolicyConfig"]["Name"]
            assert len(join_for_region(name, region, "x" * 40)) <= 128


# 5. The Powertools that is tested is the one deployed ------------------------------------------


def test_every_function_takes_the_powertools_layer_of_the_locked_release(template):
    locked = locked_version("aws-lambda-powertools")
    assert version("aws-lambda-powertools") == locked  # what the tests import is what the lock pins
    (parameter_id,) = [k for k, p in template["Parameters"].items() if p["Default"].startswith("/aws/service/powertools/")]
    parameter = template["Parameters"][parameter_id]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert parameter["Default"] == f"/aws/service/powertools/python/arm64/python3.14/{locked}"
    assert parameter["Default"] == powertools_layer_parameter(locked)
    for handler, props in handler_functions(template).items():
        assert props["Architectures"] == ["arm64"] and props["Runtime"] == "python3.14", handler
        assert {"Ref": parameter_id} in props["Layers"], handler
    assert "017000801446" not in json.dumps(template)  # no hard-coded layer version left


def test_a_layer_arn_in_context_overrides_the_parameter(configured):
    for handler, props in handler_functions(configured).items():
        assert OVERRIDE_LAYER in props["Layers"], handler
    assert not any(p["Default"].startswith("/aws/service/powertools/") for p in configured.get("Parameters", {}).values())
