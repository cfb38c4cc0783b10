"""Issue 8 in the synthesized templates: the hosted client, observability, hardening, and what
changes between stage dev and stage prod."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.handler_function import SERVICE_NAME
from infra.hosted_client import content_security_policy
from local.template.stack import SynthesizedStack
from tests.infra.test_template import resources


@pytest.fixture(scope="module")
def dev(stack) -> dict:
    return stack.template


@pytest.fixture(scope="module")
def prod(prod_cdk_out) -> dict:
    return SynthesizedStack.load(prod_cdk_out).template


def only(template: dict, kind: str) -> dict:
    (resource,) = resources(template, kind).values()
    return resource


def flatten(value) -> str:
    """A template value as text, intrinsics included (to look for a reference inside a Join)."""
    return json.dumps(value)


# -- hosted client -----------------------------------------------------------------------------


def test_client_bucket_is_private_encrypted_and_tls_only(dev):
    bucket = only(dev, "AWS::S3::Bucket")["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    statements = only(dev, "AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"]["Statement"]
    deny_http = [s for s in statements if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}]
    assert deny_http
    # The only reader is CloudFront, through origin access control, for this distribution.
    readers = [s for s in statements if s["Effect"] == "Allow" and s["Action"] == "s3:GetObject"]
    (reader,) = readers
    assert reader["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert "AWS:SourceArn" in reader["Condition"]["StringEquals"]


def test_cloudfront_uses_origin_access_control_and_https_only(dev):
    distribution = only(dev, "AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]
    (origin,) = distribution["Origins"]
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not the legacy OAI
    assert "OriginAccessControlId" in origin
    oac = only(dev, "AWS::CloudFront::OriginAccessControl")["Properties"]["OriginAccessControlConfig"]
    assert oac["OriginAccessControlOriginType"] == "s3" and oac["SigningBehavior"] == "always"
    assert distribution["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert distribution["DefaultRootObject"] == "index.html"


def behaviour_policy(template: dict, behaviour: dict) -> dict:
    policy_id = behaviour["ResponseHeadersPolicyId"]["Ref"]
    return resources(template, "AWS::CloudFront::ResponseHeadersPolicy")[policy_id]["Properties"]["ResponseHeadersPolicyConfig"]


def test_csp_lets_the_page_connect_only_to_this_stacks_websocket_endpoint(dev):
    distribution = only(dev, "AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]
    policy = behaviour_policy(dev, distribution["DefaultCacheBehavior"])
    headers = policy["SecurityHeadersConfig"]
    csp = flatten(headers["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    (api_id,) = resources(dev, "AWS::ApiGatewayV2::Api")
    # connect-src: the page's own origin (its config.json) and the API's wss://… endpoint, nothing else.
    assert f'connect-src \'self\' ", {{"Fn::GetAtt": ["{api_id}", "ApiEndpoint"]}}, "; base-uri' in csp
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["FrameOptions"]["FrameOption"] == "DENY"


def test_only_the_javascript_modules_answer_another_origin_and_with_the_same_security_headers(dev):
    """A shop's page imports the <order-tracker> module from the client's origin (docs/client.md): the
    *.js behaviour, and it alone, answers CORS requests; config.json and the page stay same-origin."""
    distribution = only(dev, "AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]
    (modules,) = distribution["CacheBehaviors"]
    assert modules["PathPattern"] == "*.js" and modules["ViewerProtocolPolicy"] == "redirect-to-https"
    assert modules["TargetOriginId"] == distribution["DefaultCacheBehavior"]["TargetOriginId"]
    page = behaviour_policy(dev, distribution["DefaultCacheBehavior"])
    module = behaviour_policy(dev, modules)
    assert "CorsConfig" not in page
    cors = module["CorsConfig"]
    assert cors["AccessControlAllowOrigins"] == {"Items": ["*"]}
    assert cors["AccessControlAllowMethods"] == {"Items": ["GET", "HEAD"]}
    assert cors["AccessControlAllowCredentials"] is False
    assert module["SecurityHeadersConfig"] == page["SecurityHeadersConfig"]


def test_the_csp_itself_admits_nothing_else():
    csp = content_security_policy("wss://abc.execute-api.eu-west-1.amazonaws.com")
    directives = dict(d.split(" ", 1) for d in csp.split("; "))
    assert directives["connect-src"] == "'self' wss://abc.execute-api.eu-west-1.amazonaws.com"
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp and "*" not in csp


def test_the_client_and_its_config_json_are_deployed_with_the_stage_url(dev, cdk_out):
    deployment = only(dev, "Custom::CDKBucketDeployment")["Properties"]
    assert len(deployment["SourceObjectKeys"]) == 2  # client/ and config.json
    markers = flatten(deployment["SourceMarkers"])
    (api_id,) = resources(dev, "AWS::ApiGatewayV2::Api")
    # config.json's wsUrl is the stage's wss:// URL, filled at deploy.
    assert f'"\\"wss://", {{"Ref": "{api_id}"}}' in markers and '"/dev\\""' in markers
    assert deployment["DistributionPaths"] == ["/*"]  # CloudFront is invalidated on each deploy
    # The client asset is the client/ folder as it is.
    client_asset = [p for p in Path(cdk_out).glob("asset.*") if (p / "index.html").exists() and (p / "app.js").exists()]
    assert client_asset
    # The client URL is an output.
    assert "ClientUrl" in dev["Outputs"]


# -- observability -----------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_log_group_has_a_retention_and_every_function_its_own_group(stage, request):
    template = request.getfixturevalue(stage)
    groups = resources(template, "AWS::Logs::LogGroup")
    assert all("RetentionInDays" in g["Properties"] for g in groups.values())
    for logical_id, function in resources(template, "AWS::Lambda::Function").items():
        log_group = function["Properties"].get("LoggingConfig", {}).get("LogGroup")
        assert log_group and flatten(log_group).strip('"{} ').split('"')[-1] in groups, logical_id


def test_functions_and_state_machine_are_traced(dev):
    for function in resources(dev, "AWS::Lambda::Function").values():
        if function["Properties"].get("Handler", "").startswith("handlers."):
            assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}
    assert only(dev, "AWS::StepFunctions::StateMachine")["Properties"]["TracingConfiguration"] == {"Enabled": True}


def test_handlers_publish_metrics_in_the_stages_namespace(dev, prod):
    for template, namespace in ((dev, "OrderTracking/dev"), (prod, "OrderTracking/prod")):
        for function in resources(template, "AWS::Lambda::Function").values():
            props = function["Properties"]
            if props.get("Handler", "").startswith("handlers."):
                assert props["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == namespace


def test_api_gateway_writes_json_access_logs_without_the_token(dev):
    stage = only(dev, "AWS::ApiGatewayV2::Stage")["Properties"]
    settings = stage["AccessLogSettings"]
    log_format = json.loads(settings["Format"])
    assert {"requestId", "connectionId", "routeKey", "status", "error"} <= set(log_format)
    assert not any("querystring" in value.lower() or "token" in value.lower() for value in log_format.values())
    assert resources(dev, "AWS::ApiGateway::Account")  # the account's CloudWatch role, which access logs need


def test_alarms_cover_errors_failures_emit_5xx_throttles_and_dead_letters(dev):
    alarms = resources(dev, "AWS::CloudWatch::Alarm")
    names = {k.removeprefix("Monitoring").rstrip("0123456789ABCDEF") for k in alarms}
    for expected in (
        "ConnectErrors",
        "TrackOrderErrors",
        "AuthorizerErrors",
        "LambdaThrottles",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "EmitServerErrors",
        "RouteErrors",
        "ConnectionsThrottles",
        "TrackingsThrottles",
        "DeadLetters",
    ):
        assert expected in names, (expected, sorted(names))
    # Emit and publish raise to be retried: their errors page only once retries are spent (DeadLetters,
    # ExecutionsFailed, PublishFailures), not at every transient fault.
    assert not {"EmitErrors", "PublishErrors"} & names
    (topic,) = resources(dev, "AWS::SNS::Topic")
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic}]
    emit_5xx = next(a for k, a in alarms.items() if "EmitServerErrors" in k)["Properties"]
    assert emit_5xx["Namespace"] == "OrderTracking/dev" and emit_5xx["MetricName"] == "ManagementApiErrors"
    assert emit_5xx["Dimensions"] == [{"Name": "service", "Value": SERVICE_NAME}]
    # A route that fails answers `internal` and returns normally: only the handlers' own Errors metric sees it.
    route = next(a for k, a in alarms.items() if "RouteErrors" in k)["Properties"]
    assert (route["Namespace"], route["MetricName"], route["Threshold"]) == ("OrderTracking/dev", "Errors", 1)


def test_dashboard_shows_the_application_metrics(dev):
    body = flatten(only(dev, "AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"])
    for metric in ("ConnectionsOpened", "TrackingsStarted", "EventsEmitted", "ConnectionsGone", "EmitsFenced", "EventsReplayed"):
        assert metric in body


def test_alarm_email_is_subscribed_only_when_given(dev, tmp_path):
    from local.template.synth import ensure_synth

    assert resources(dev, "AWS::SNS::Subscription") == {}
    out = ensure_synth(tmp_path / "cdk.out", context={"alarmEmail": "ops@example.com", "aws:cdk:bundling-stacks": []})
    (subscription,) = resources(SynthesizedStack.load(out).template, "AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "ops@example.com"


# -- hardening and stages ----------------------------------------------------------------------


def test_failed_executions_go_to_an_encrypted_dead_letter_queue(dev):
    queues = [r["Properties"] for r in resources(dev, "AWS::SQS::Queue").values()]
    assert len(queues) == 2  # failed trackings, failed publishes
    assert all(queue["SqsManagedSseEnabled"] is True for queue in queues)
    machine = only(dev, "AWS::StepFunctions::StateMachine")["Properties"]
    definition = flatten(machine["DefinitionString"])
    assert "sqs:sendMessage" in definition and "States.ALL" in definition


def test_stage_is_throttled(dev):
    route_settings = only(dev, "AWS::ApiGatewayV2::Stage")["Properties"]["DefaultRouteSettings"]
    assert route_settings["ThrottlingRateLimit"] > 0 and route_settings["ThrottlingBurstLimit"] > 0


def test_prod_keeps_its_data_and_dev_cleans_up(dev, prod):
    for table in resources(prod, "AWS::DynamoDB::Table").values():
        assert table["DeletionPolicy"] == "Retain"
        assert table["Properties"]["DeletionProtectionEnabled"] is True
        assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert only(prod, "AWS::S3::Bucket")["DeletionPolicy"] == "Retain"
    assert only(dev, "AWS::S3::Bucket")["DeletionPolicy"] == "Delete"
    # Dev: deleting the deployment empties the bucket first, so the bucket can go.
    assert only(dev, "Custom::CDKBucketDeployment")["Properties"]["RetainOnDelete"] is False
    assert only(prod, "Custom::CDKBucketDeployment")["Properties"].get("RetainOnDelete", True) is True


def test_names_carry_the_stage(dev, prod):
    assert only(dev, "AWS::ApiGatewayV2::Api")["Properties"]["Name"] == "order-tracking-dev"
    assert only(prod, "AWS::ApiGatewayV2::Api")["Properties"]["Name"] == "order-tracking-prod"
    assert only(prod, "AWS::ApiGatewayV2::Stage")["Properties"]["StageName"] == "prod"
    assert '"OrderTracking-prod-"' in flatten(only(prod, "AWS::CloudWatch::Dashboard")["Properties"]["DashboardName"])


def test_the_account_logging_role_outlives_the_stack(dev):
    (account,) = resources(dev, "AWS::ApiGateway::Account").values()
    assert account["DeletionPolicy"] == "Retain"
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    assert dev["Resources"][role_id]["DeletionPolicy"] == "Retain"
