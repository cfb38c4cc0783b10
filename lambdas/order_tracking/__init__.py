"""The domain under the route handlers (handlers/), one concept per package: wire/ (the protocol),
runtime/ (settings, time budget, logs and metrics), aws/ (clients), delivery/ (leases and posts),
connections/, orders/, simulated/ and live/. tracking.py answers a connection's requests whatever the
kind of order; wiring.py builds what the handlers use from the settings, which nothing below reads.

Nothing here knows whether it runs on AWS or in local mode: table names, the state machine ARN and
the management API endpoint come from environment variables set by the stack.
"""
