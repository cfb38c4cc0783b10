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


def acknowledge_stack_findings(stack: cdk.Stack) -> None:
    """Findings that hold for the whole stack, each with why it is accepted."""
    acknowledge(
        stack,
        "IAM5[Resource::*]",
        "X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) and the Step Functions log "
        "delivery actions (logs:*LogDelivery*, DescribeResourcePolicies) have no resource-level permissions.",
    )
    acknowledge(
        stack,
        "APIG4",
        "A WebSocket API authorizes the handshake: $connect has the token authorizer; the other routes "
        "cannot carry one and run only on connections it admitted.",
    )
    acknowledge(
        stack,
        "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "Only the provider function of AwsCustomResource (seed orders, runs at deploy) uses it; CDK "
        "creates that role. Our own functions have roles limited to their own log group.",
    )
