"""cdk-nag AwsSolutions checks, run as a CDK validation plugin on every synth.

Every finding we accept is acknowledged here or next to the construct it concerns, with its reason.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

PACK = "AwsSolutions::AwsSolutions"


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge cdk-nag finding `rule` (e.g. "IAM5[Resource::*]") on `scope` and below."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=f"{PACK}-{rule}", reason=reason))


def add_compliance_checks(app: cdk.App) -> None:
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(verbose=True))


BASIC_EXECUTION_ROLE = "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]"


def acknowledge_stack_findings(stack: cdk.Stack) -> None:
    """Findings that hold for the whole stack, each with why it is accepted. Findings of one resource
    are acknowledged on that resource, next to where it is made."""
    acknowledge(
        stack,
        "APIG4",
        "A WebSocket API authorizes the handshake: $connect has the token authorizer; the other routes "
        "cannot carry one and run only on connections it admitted.",
    )
