"""AWS list prices, us-east-1, on-demand, without free tiers: the numbers the cost model multiplies by.

As published on the AWS pricing pages for API Gateway, Lambda (arm64), Step Functions and DynamoDB
(on-demand, after the November 2024 reduction), as we could read them offline on PRICES_DATE.
Check https://aws.amazon.com/pricing/ before relying on them.
"""

PRICES_DATE = "2026-11-29"

API_GATEWAY_PER_MESSAGE = 1.00 / 1e6  # WebSocket messages, first billion a month; metered in 32 KB units
API_GATEWAY_PER_CONNECTION_MINUTE = 0.25 / 1e6
LAMBDA_PER_REQUEST = 0.20 / 1e6
LAMBDA_ARM64_PER_GB_SECOND = 0.0000133334
SFN_STANDARD_PER_TRANSITION = 0.025 / 1000
SFN_EXPRESS_PER_REQUEST = 1.00 / 1e6
SFN_EXPRESS_PER_GB_SECOND = 0.00001667  # first 1,000 GB-hours a month; billed per 100 ms and 64 MB
SFN_EXPRESS_BILLED_MEMORY_GB = 64 / 1024  # 50 MB + definition + data: one 64 MB chunk for this workflow
DYNAMODB_PER_WRITE_UNIT = 0.625 / 1e6
DYNAMODB_PER_READ_UNIT = 0.125 / 1e6
EVENTBRIDGE_PER_EVENT = 1.00 / 1e6  # custom events put on a bus, per 64 KB chunk
