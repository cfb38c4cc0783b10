"""The AWS SDK as every store uses it: clients with the time budget's timeouts and retries, built once
per process, and DynamoDB conditional writes that say why they did not take."""
