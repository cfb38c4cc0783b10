"""Checks that a running deployment does what a user needs, from outside, over its WebSocket endpoint:
`make smoke STACK=OrderTracking-dev` for a deployed stack, or against a running `make dev`; the checks
that need only the endpoint also run as the stack's CloudWatch Synthetics canary (smoke/canary.py).

Tokens are minted with the handlers' own code (order_tracking.connections.tokens): in the repository it is under
lambdas/, in the canary's bundle beside this package."""

import sys
from pathlib import Path

_LAMBDAS = Path(__file__).resolve().parent.parent / "lambdas"
if _LAMBDAS.is_dir() and str(_LAMBDAS) not in sys.path:
    sys.path.insert(0, str(_LAMBDAS))
