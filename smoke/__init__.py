"""Checks that a running deployment does what a user needs, from outside, over its WebSocket endpoint:
`make smoke STACK=OrderTracking-dev` for a deployed stack, or against a running `make dev`."""
