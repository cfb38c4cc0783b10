"""The stack's dead-letter queues: where what failed for good lands, for an operator to read."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.compliance import acknowledge


def dead_letter_queue(scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy, holds: str) -> sqs.Queue:
    """An encrypted, TLS-only queue keeping its messages 14 days; `holds` says what lands there."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
        removal_policy=removal_policy,
    )
    acknowledge(queue, "SQS3", f"This queue is a dead-letter queue itself: {holds} land here.")
    return queue
