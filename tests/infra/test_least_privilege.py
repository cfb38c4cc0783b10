"""Least privilege, read off the synthesized templates of both stages: a function may post to
connections and do nothing else with them, the client's deployment may invalidate its own
distribution only, and no cdk-nag acknowledgement of a wildcard covers more than the resources its
reason names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.template.stack import SynthesizedStack
from tests.infra.test_template import resources

# What each acknowledgement's reason names, as the construct paths (under the stack) it may cover.
WILDCARD_ACKNOWLEDGEMENTS = {
    "AwsSolutions-IAM5[Resource::*]": ("Handlers/", "Workflow/StateMachine/Role", "Custom::CDKBucketDeployment"),
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]": (
        "AWS679f53fac002430cb0da5b7982bd2287",  # AwsCustomResource's provider: the seed orders
        "Custom::CDKBucketDeployment",
    ),
}


@pytest.fixture(scope="module", params=["dev", "prod"])
def assembly(request) -> Path:
    return request.getfixturevalue("cdk_out" if request.param == "dev" else "prod_cdk_out")


@pytest.fixture(scope="module")
def template(assembly) -> dict:
    return SynthesizedStack.load(assembly).template


def statements(template: dict) -> list[tuple[str, dict]]:
    """(policy logical id, statement) of every identity policy."""
    found = []
    for logical_id, policy in resources(template, "AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            found.append((logical_id, statement))
    return found


def actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_functions_may_post_to_connections_and_nothing_else_there(template):
    granted = [(lid, s) for lid, s in statements(template) if "execute-api:ManageConnections" in actions(s)]
    holders = {lid.removeprefix("Handlers").split("FunctionRole")[0] for lid, _ in granted}
    assert holders == {"TrackOrder", "Emit", "Publish"}
    for _, statement in granted:
        text = json.dumps(statement["Resource"])
        assert text.endswith('/POST/@connections/*"]]}') and "/*/@connections" not in text, text


def test_the_client_deployment_may_invalidate_its_own_distribution_only(template):
    (distribution,) = resources(template, "AWS::CloudFront::Distribution")
    invalidations = [s for _, s in statements(template) if any(a.startswith("cloudfront:") for a in actions(s))]
    assert invalidations, "the deployment invalidates the distribution after copying the files"
    for statement in invalidations:
        assert statement["Resource"] != "*"
        assert {"Ref": distribution} in statement["Resource"]["Fn::Join"][1]
        assert ":cloudfront::" in json.dumps(statement["Resource"]) and ":distribution/" in json.dumps(statement["Resource"])


def test_wildcard_acknowledgements_cover_only_the_resources_their_reasons_name(assembly, template):
    report = json.loads((assembly / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    stack = next(
        name
        for name, artifact in json.loads((assembly / "manifest.json").read_text())["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    )
    seen = set()
    for suppressed in nag["suppressedViolations"]:
        allowed = WILDCARD_ACKNOWLEDGEMENTS.get(suppressed["ruleName"])
        if allowed is None:
            continue
        seen.add(suppressed["ruleName"])
        place = suppressed["acknowledgedAt"].removeprefix(f"{stack}/")
        assert suppressed["acknowledgedAt"] != stack, f"{suppressed['ruleName']} acknowledged for the whole stack"
        assert place.startswith(allowed), (suppressed["ruleName"], place)
        for construct in suppressed["violatingConstructs"]:
            assert construct["constructPath"].startswith(suppressed["acknowledgedAt"] + "/")
    assert seen == set(WILDCARD_ACKNOWLEDGEMENTS)
