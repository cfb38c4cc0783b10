"""`python -m publish` (what `make publish` runs): publish one order status change on the stack's
EventBridge bus, as a shop's backend does (docs/publishing.md).

    make publish ORDER=LV-2001 TYPE=order_created                   a running `make dev`
    make publish ORDER=LV-2001 TYPE=order_sent STACK=OrderTracking-dev   a deployed stack (your AWS credentials)
    make publish ORDER=LV-2001 TYPE=order_delayed LABEL="Held at customs" STATUS=warning KEY=customs-1

The publish is checked here first, by the same rules as the stack's publish function, so a mistake is
said at once; what the function refuses anyway lands on the stack's publish-failures queue. Exit
status 0 when EventBridge accepted the event, 1 when it did not, 2 for a publish that is not one.
"""

from __future__ import annotations

import argparse
import sys
import uuid

from local.synth import ROOT

sys.path.insert(0, str(ROOT / "lambdas"))
from order_tracking.publish_request import PublishRefused, parse_publish  # noqa: E402

from publish.backend import Backend  # noqa: E402
from publish.statuses import status_change  # noqa: E402

LOCAL_AWS_URL = "http://127.0.0.1:3001"  # make dev's AWS endpoint (local mode's --aws-port)
SOURCE = "order-tracking.make-publish"


def _backend(stack: str | None, aws_url: str) -> Backend:
    """A deployed stack's bus (its outputs), or local mode's."""
    if stack:
        return Backend.of_deployed_stack(stack, source=SOURCE)
    from local.synth import ensure_synth
    from local.template import SynthesizedStack

    return Backend.of_local_mode(aws_url, SynthesizedStack.load(ensure_synth()), source=SOURCE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m publish", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--order", required=True, help="the order id, e.g. LV-2001 (its first publish creates it)")
    parser.add_argument("--type", required=True, help="the event type, e.g. order_sent")
    parser.add_argument("--label", help="what people read (default: the seed orders' label for the type)")
    parser.add_argument("--status", help="pending, active, success, warning, cancelled or error (default: the seed orders')")
    parser.add_argument("--customer", default="demo", help="the order's owner (only their connections may watch it)")
    parser.add_argument("--key", help="the idempotency key: the same key again is the same publish (default: a new one)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", help="a deployed stack's name, e.g. OrderTracking-dev")
    where.add_argument("--aws-url", default=LOCAL_AWS_URL, help=f"local mode's AWS endpoint (default {LOCAL_AWS_URL}: make dev)")
    args = parser.parse_args(argv)
    detail = status_change(
        args.order, args.type, customer=args.customer, key=args.key or uuid.uuid4().hex, label=args.label, status=args.status
    )
    try:
        parse_publish(detail)
    except PublishRefused as refused:
        print(f"not published: {refused.detail}", file=sys.stderr)
        return 2
    try:
        backend = _backend(args.stack, args.aws_url)
    except LookupError as missing:
        print(missing, file=sys.stderr)
        return 1
    entry = backend.put(detail)
    if "EventId" not in entry:
        print(f"EventBridge refused it: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}", file=sys.stderr)
        return 1
    print(f"published {detail['orderId']} {detail['type']} ({detail['label']!r}, {detail['status']}) on {backend.bus}")
    print(f"event id {entry['EventId']}, idempotency key {detail['idempotencyKey']}")
    print("the stack stores it asynchronously: if it refuses it, the publish-failures queue says why")
    return 0


if __name__ == "__main__":
    sys.exit(main())
