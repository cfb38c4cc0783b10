"""`python -m publish` (what `make publish` runs): publish one order status change on the stack's
EventBridge bus, as a shop's backend does (docs/publishing.md).

    make publish ORDER=LV-2001 TYPE=order_created                   the running `make dev`, on whatever port
    make publish ORDER=LV-2001 TYPE=order_sent STACK=OrderTracking-dev   a deployed stack (your AWS credentials)
    make publish ORDER=LV-2001 TYPE=order_delayed LABEL="Held at customs" STATUS=warning KEY=customs-1

The publish is checked here first, by the same rules as the stack's publish function, so a mistake is
said at once. Then it waits (up to 10 s) to see what the stack did with it: stored as the order's next
event ("published ... as seq N"), or refused by the publish function (another customer's order, a
simulated one, the event limit: "refused", with why, as the publish-failures queue has it). Where
the stack cannot be read with your credentials, it says the event was sent, not that it was stored.
Exit status 0 when the stack stored it (or, unseen, EventBridge accepted it), 1 when it was refused or
not accepted, or no local mode runs, 2 for a publish that is not one.
"""

from __future__ import annotations

import argparse
import sys
import uuid

from botocore.exceptions import BotoCoreError

from local.template.synth import ROOT

sys.path.insert(0, str(ROOT / "lambdas"))
from order_tracking.wire.publish import PublishRefused, parse_publish  # noqa: E402

from publish.backend import Backend  # noqa: E402
from publish.statuses import status_change  # noqa: E402

SOURCE = "order-tracking.make-publish"
OUTCOME_SECONDS = 10.0


def _backend(stack: str | None, aws_url: str | None) -> Backend:
    """A deployed stack's bus (its outputs), or a local mode's: the one at `aws_url`, else the running
    make dev (LookupError when none runs)."""
    if stack:
        return Backend.of_deployed_stack(stack, source=SOURCE)
    from local.cli.running import NOT_RUNNING, find
    from local.template.stack import SynthesizedStack
    from local.template.synth import ensure_synth

    if aws_url is None:
        running = find()
        if running is None:
            raise LookupError(f"{NOT_RUNNING}, or publish to a deployed stack with STACK=OrderTracking-dev")
        aws_url = running.aws
    return Backend.of_local_mode(aws_url, SynthesizedStack.load(ensure_synth()), source=SOURCE)


def command_line() -> argparse.ArgumentParser:
    """The command line (docs/publishing.md documents every option: tests/infra/test_docs_match_code.py)."""
    parser = argparse.ArgumentParser(prog="python -m publish", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--order", required=True, help="the order id, e.g. LV-2001 (its first publish creates it)")
    parser.add_argument("--type", required=True, help="the event type, e.g. order_sent")
    parser.add_argument("--label", help="what people read (default: the seed orders' label for the type)")
    parser.add_argument("--status", help="pending, active, success, warning, cancelled or error (default: the seed orders')")
    parser.add_argument("--customer", default="demo", help="the order's owner (only their connections may watch it)")
    parser.add_argument("--key", help="the idempotency key: the same key again is the same publish (default: a new one)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", help="a deployed stack's name, e.g. OrderTracking-dev")
    where.add_argument("--aws-url", help="a local mode's AWS endpoint (default: the running make dev's, wherever it runs)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = command_line().parse_args(argv)
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
    try:
        before = backend.outcome(detail, timeout=0)
        entry = backend.put(detail)
    except (OSError, BotoCoreError) as unreachable:
        print(f"the stack's AWS endpoint did not answer: {unreachable}", file=sys.stderr)
        return 1
    if "EventId" not in entry:
        print(f"EventBridge refused it: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}", file=sys.stderr)
        return 1
    what = f"{detail['orderId']} {detail['type']} ({detail['label']!r}, {detail['status']})"
    if before.kind == "stored":
        print(f"repeated: key {detail['idempotencyKey']!r} is stored already, as seq {before.seq}: the stack stored nothing new")
        return 0
    outcome = backend.outcome(detail, OUTCOME_SECONDS)
    if outcome.kind == "refused":
        print(f"refused by the stack: {what}: {outcome.reason}: {outcome.detail}", file=sys.stderr)
        return 1
    if outcome.kind == "stored":
        print(f"published {what} as seq {outcome.seq} on {backend.bus}")
    else:
        print(f"sent {what} on {backend.bus}; not seen stored yet{f' ({outcome.detail})' if outcome.detail else ''}")
        print("the stack stores it asynchronously: if it refuses it, the publish-failures queue says why")
    print(f"event id {entry['EventId']}, idempotency key {detail['idempotencyKey']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
