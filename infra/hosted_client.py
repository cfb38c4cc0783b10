"""The browser client, hosted: `client/` in a private S3 bucket behind CloudFront (origin access
control, HTTPS only, security headers), with a `config.json` that points it at this stack's
WebSocket endpoint, so the page works as deployed.

The Content-Security-Policy allows scripts, styles and fetches from the page's own origin only (the
client's modules and its config.json) and WebSocket connections to this stack's endpoint only.
"""

from __future__ import annotations

from pathlib import Path

import jsii
from aws_cdk import Aspects, Aws, Duration, IAspect, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct, IConstruct

from infra.compliance import BASIC_EXECUTION_ROLE, acknowledge
from infra.config import StackConfig
from infra.realtime_api import RealtimeApi

CLIENT_DIR = Path(__file__).resolve().parent.parent / "client"


def content_security_policy(websocket_endpoint: str) -> str:
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' {websocket_endpoint}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


MODULES_PATH = "*.js"  # the client's JavaScript modules, importable across origins


class HostedClient(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        api: RealtimeApi,
    ) -> None:
        super().__init__(scope, construct_id)
        removal = config.removal_policy
        production = config.production
        websocket_endpoint = api.api.api_endpoint  # wss://host, for the CSP
        websocket_url = api.stage.url  # with the stage, for config.json
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=removal,
        )
        acknowledge(
            self.bucket,
            "S1",
            "The bucket holds only the public client's static files, read through CloudFront; "
            "access logging would add a second bucket for no information CloudFront lacks.",
        )
        # CloudFront's policies and origin access controls are global, named per account: the names
        # carry the stack (so the stage) and the region, so the same stage deploys in two regions.
        account_wide_name = f"{Stack.of(self).stack_name}-{Aws.REGION}"
        security = cloudfront.ResponseSecurityHeadersBehavior(
            content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                content_security_policy=content_security_policy(websocket_endpoint), override=True
            ),
            content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
            frame_options=cloudfront.ResponseHeadersFrameOptions(frame_option=cloudfront.HeadersFrameOption.DENY, override=True),
            referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
            ),
            strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                access_control_max_age=Duration.days(365), include_subdomains=True, override=True
            ),
        )
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            response_headers_policy_name=f"{account_wide_name}-headers",
            comment="Order tracking client: CSP and security headers",
            security_headers_behavior=security,
        )
        # The JavaScript modules (the <order-tracker> element and what it imports) may be imported by a
        # shop's page on another origin: they, and nothing else, answer any origin's CORS request. They
        # hold code only; config.json and the page stay same-origin.
        module_headers = cloudfront.ResponseHeadersPolicy(
            self,
            "ModuleHeaders",
            response_headers_policy_name=f"{account_wide_name}-modules",
            comment="Order tracking client: the JavaScript modules, importable from any origin",
            security_headers_behavior=security,
            cors_behavior=cloudfront.ResponseHeadersCorsBehavior(
                access_control_allow_origins=["*"],
                access_control_allow_methods=["GET", "HEAD"],
                access_control_allow_headers=["*"],
                access_control_allow_credentials=False,
                origin_override=True,
            ),
        )
        origin = origins.S3BucketOrigin.with_origin_access_control(
            self.bucket,
            origin_access_control=cloudfront.S3OriginAccessControl(
                self, "OriginAccess", origin_access_control_name=f"{account_wide_name}-client"
            ),
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Order tracking client",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                response_headers_policy=headers,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
            ),
            additional_behaviors={
                MODULES_PATH: cloudfront.BehaviorOptions(
                    origin=origin,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                    response_headers_policy=module_headers,
                    cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                )
            },
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
        )
        acknowledge(
            self.distribution,
            "CFR1",
            "Order tracking is for customers anywhere; access is controlled by the customer token, not geography.",
        )
        acknowledge(
            self.distribution,
            "CFR2",
            "The distribution serves static files only; every request with data goes to the WebSocket API, "
            "which authorizes and throttles. A WAF web ACL costs at least $5 a month per stage.",
        )
        acknowledge(
            self.distribution,
            "CFR3",
            "Static files only; the WebSocket API's access logs record what customers do.",
        )
        acknowledge(
            self.distribution,
            "CFR4",
            "The default *.cloudfront.net certificate; with a custom domain set minimumProtocolVersion TLSv1.2_2021.",
        )
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Files",
            destination_bucket=self.bucket,
            sources=[
                s3deploy.Source.asset(str(CLIENT_DIR)),
                s3deploy.Source.json_data("config.json", {"wsUrl": websocket_url}),
            ],
            distribution=self.distribution,
            distribution_paths=["/*"],
            prune=True,
            retain_on_delete=production,  # dev: deleting the stack empties the bucket, so it can go too
            log_group=logs.LogGroup(self, "DeploymentLogs", retention=config.log_retention, removal_policy=RemovalPolicy.DESTROY),
        )

        provider = next(c for c in Stack.of(self).node.children if c.node.id.startswith("Custom::CDKBucketDeployment"))
        # BucketDeployment lets its provider invalidate any distribution of the account (resource "*",
        # checkov CKV_AWS_111): only this one, here.
        Aspects.of(provider).add(_InvalidationsOf(self.distribution.distribution_arn))
        acknowledge(
            provider,
            "IAM5[Resource::*]",
            "The invalidation statement's '*' is replaced by this distribution's ARN in the template (an "
            "override, which cdk-nag does not read); tests/infra/test_production_readiness.py pins it.",
        )
        self._acknowledge_deployment_provider(provider)

    def _acknowledge_deployment_provider(self, provider: IConstruct) -> None:
        """BucketDeployment's provider is a CDK singleton at stack level; its findings, with why."""
        stack = Stack.of(self)
        cfn_bucket = self.bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        bucket_arn = stack.get_logical_id(cfn_bucket)
        for rule in (
            "IAM5[Action::s3:GetBucket*]",
            "IAM5[Action::s3:GetObject*]",
            "IAM5[Action::s3:List*]",
            "IAM5[Action::s3:Abort*]",
            "IAM5[Action::s3:DeleteObject*]",
            f"IAM5[Resource::<{bucket_arn}.Arn>/*]",
            "IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]",
        ):
            acknowledge(
                provider,
                rule,
                "CDK's BucketDeployment copies the client's files from the CDK asset bucket into this bucket "
                "(and prunes old ones); its role is limited to those two buckets.",
            )
        acknowledge(provider, "L1", "CDK's BucketDeployment picks its provider's runtime; it runs only at deploy.")
        acknowledge(
            provider,
            BASIC_EXECUTION_ROLE,
            "CDK's BucketDeployment provider function (copies the client's files, at deploy); CDK creates its role.",
        )

    @property
    def url(self) -> str:
        return f"https://{self.distribution.distribution_domain_name}/"


@jsii.implements(IAspect)
class _InvalidationsOf:
    """Scopes the CloudFront invalidation statements of the policies below it to one distribution."""

    def __init__(self, distribution_arn: str) -> None:
        self.distribution_arn = distribution_arn

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, iam.CfnPolicy):
            return
        document = Stack.of(node).resolve(node.policy_document)
        for index, statement in enumerate(document.get("Statement", [])):
            actions = statement.get("Action")
            actions = actions if isinstance(actions, list) else [actions]
            if "cloudfront:CreateInvalidation" in actions and statement.get("Resource") == "*":
                node.add_property_override(f"PolicyDocument.Statement.{index}.Resource", self.distribution_arn)
