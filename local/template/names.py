"""Local mode's names for what the template describes: its account, region and API id, the resource
types it emulates, and the ARN or URL of a local resource of each kind."""

from __future__ import annotations

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
API_ID = "local"
HANDLER_PACKAGE = "handlers."  # lambdas/handlers: our functions' handlers all live there
# What local mode runs from a template; everything else (hosting, alarms, logs...) it leaves out.
# IAM roles and policies are not created but enforced: see local/iam/policies.py.
EMULATED_TYPES = {
    "AWS::DynamoDB::Table",
    "AWS::Lambda::Function",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
    "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::RouteResponse",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::Authorizer",
    "AWS::StepFunctions::StateMachine",
    "AWS::SecretsManager::Secret",
    "AWS::SQS::Queue",
    "Custom::AWS",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::Events::EventBus",
    "AWS::Events::Rule",
    "AWS::Lambda::Permission",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::CloudWatch::Alarm",
    "AWS::SNS::Topic",
}


# The ARN of a resource of each kind named `name` here is the prefix followed by the name.
ARN_PREFIXES = {
    "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/",
    "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:",
    "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT_ID}:role/",
    "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:",
    "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:",
    "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:",
    "AWS::StepFunctions::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:",
    "AWS::Events::EventBus": f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/",
    "AWS::Events::Rule": f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/",  # then the bus's name and "/" (not for the default bus)
    "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:",
}
# Kinds whose ARN a template reads with Fn::GetAtt (the others' Ref is their ARN on AWS).
GET_ATT_ARN_KINDS = {"AWS::DynamoDB::Table", "AWS::Lambda::Function", "AWS::IAM::Role", "AWS::Logs::LogGroup", "AWS::SQS::Queue"}


def local_arn(kind: str, name_or_arn: str) -> str:
    """The ARN of the local resource of `kind` named `name_or_arn` (an ARN is returned as it is)."""
    return name_or_arn if name_or_arn.startswith("arn:") else ARN_PREFIXES[kind] + name_or_arn


def queue_url(name: str) -> str:
    """The URL of the local SQS queue `name` (as AWS spells it; moto finds a queue by the name in it)."""
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{name}"


def rule_arn(bus: str, name: str) -> str:
    """An EventBridge rule's ARN: a rule on the default bus has none of the bus in it."""
    return ARN_PREFIXES["AWS::Events::Rule"] + ("" if bus == "default" else f"{bus}/") + name
