"""Every stateful resource keeps its CloudFormation logical ID, in both stages: a refactor that moved a
table, the client bucket, a queue, the alarm topic, the signing secret, the bus or a log group to
another construct path would make CloudFormation replace it on the next deploy, and lose its data.
The pins are stateful_logical_ids.json; a new stateful resource is added there on purpose."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.template.stack import SynthesizedStack

PINS = json.loads(Path(__file__).with_name("stateful_logical_ids.json").read_text())
STATEFUL = {
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::SecretsManager::Secret",
    "AWS::Events::EventBus",
    "AWS::Logs::LogGroup",
}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_stateful_resource_keeps_its_logical_id(stage, request):
    cdk_out = request.getfixturevalue("cdk_out" if stage == "dev" else "prod_cdk_out")
    resources = SynthesizedStack.load(cdk_out).resources
    found = {logical_id: r["Type"] for logical_id, r in resources.items() if r["Type"] in STATEFUL}
    pinned = PINS[stage]
    lost = {k: v for k, v in pinned.items() if found.get(k) != v}
    assert lost == {}, "a stateful resource lost its logical ID: CloudFormation would replace it"
    new = {k: v for k, v in found.items() if k not in pinned}
    assert new == {}, "a new stateful resource: pin it in stateful_logical_ids.json"


def test_the_pins_name_only_stateful_types_and_cover_every_kind_the_stack_has():
    for stage in ("dev", "prod"):
        assert set(PINS[stage].values()) == STATEFUL, stage
