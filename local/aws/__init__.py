"""Local mode's AWS side: moto's server behind IAM (front.py), DynamoDB in a process of its own and as
atomic as DynamoDB, its TTL, EventBridge's rule targets, Lambda's asynchronous invocation, CloudWatch's
alarms, and the patches moto needs."""
