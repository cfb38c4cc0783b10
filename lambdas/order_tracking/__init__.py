"""The domain layer under the route handlers: protocol models, tracking store, connection gateway.

Nothing here knows whether it runs on AWS or in local mode: table names, the state machine ARN and
the management API endpoint come from environment variables set by the stack.
"""
