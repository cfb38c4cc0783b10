"""`python -m smoke` (what `make smoke` runs): a conformance suite for any deployment, from outside.
PASS, FAIL or SKIP per check with timings; exit status 0 only when nothing failed (with --strict,
when nothing was skipped either).

    make smoke STACK=OrderTracking-dev          a deployed stack, with your AWS credentials
    make smoke URL=ws://127.0.0.1:3000 TOKEN=…   any endpoint and a demo-customer token (endpoint checks only)
    make smoke                                  the running `make dev`, wherever it runs

What each check proves, and what it does not: docs/operations.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict

from smoke.results import Options, Result
from smoke.suite import run_all
from smoke.target import DEFAULT_DELAYS, Target


def _target(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Target:
    delays = (
        args.min_delay if args.min_delay is not None else DEFAULT_DELAYS[0],
        args.max_delay if args.max_delay is not None else DEFAULT_DELAYS[1],
    )
    if args.stack:
        return Target.from_stack(args.stack)
    if args.url:
        if not args.token:
            parser.error("--url needs --token")
        return Target.with_token(args.url, args.token, *delays)
    if args.client_url:
        return Target.from_client_config(args.client_url, *delays)
    from local.cli.running import NOT_RUNNING, find
    from local.cli.tokens import local_signing_secret

    running = find()
    if running is None:
        parser.exit(2, f"{NOT_RUNNING}, or give STACK=… or URL=… TOKEN=…\n")
    return Target.from_local_mode("make dev", running, local_signing_secret())


def _line(result: Result) -> str:
    if result.status == "SKIP":
        return f"SKIP {result.name}: {result.detail}"
    return f"{result.status}  {result.name:<26} {result.seconds:6.2f} s  {result.detail}"


def command_line() -> argparse.ArgumentParser:
    """The command line (docs/operations.md documents every option: tests/infra/test_docs_match_code.py)."""
    parser = argparse.ArgumentParser(prog="python -m smoke", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", help="a deployed stack's name, e.g. OrderTracking-dev")
    where.add_argument("--url", help="a WebSocket endpoint (needs --token)")
    where.add_argument("--client-url", help="a local client's URL: its config.json names the endpoint and a token")
    parser.add_argument("--token", help="a token of the demo customer, for --url")
    parser.add_argument("--min-delay", type=int, help=f"seconds (with --url or --client-url; default {DEFAULT_DELAYS[0]})")
    parser.add_argument("--max-delay", type=int, help=f"seconds (with --url or --client-url; default {DEFAULT_DELAYS[1]})")
    parser.add_argument(
        "--first-event-limit", type=float, default=1.0, help="seconds from track_order to the first event (default 1)"
    )
    parser.add_argument("--slack", type=float, default=2.0, help="seconds a gap may exceed the longest delay (default 2)")
    parser.add_argument("--strict", action="store_true", help="a skipped check fails the run")
    parser.add_argument("--json", action="store_true", help="print one JSON document of the results instead of lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = command_line()
    args = parser.parse_args(argv)
    target = _target(args, parser)
    options = Options(first_event_limit=args.first_event_limit, slack=args.slack)
    if not args.json:
        print(f"smoke check of {target.name} (delays {target.min_delay}-{target.max_delay} s)", flush=True)
    results = asyncio.run(run_all(target, options))
    failed = [r for r in results if r.status == "FAIL" or (args.strict and r.status == "SKIP")]
    counts = {status: sum(r.status == status for r in results) for status in ("PASS", "FAIL", "SKIP")}
    if args.json:
        document = {
            "target": target.name,
            "delays": [target.min_delay, target.max_delay],
            "strict": args.strict,
            "passed": not failed,
            "counts": counts,
            "results": [asdict(r) for r in results],
        }
        print(json.dumps(document))
    else:
        for result in results:
            print(_line(result))
        print(
            f"{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped"
            + (" (--strict: skips fail)" if args.strict and counts["SKIP"] else "")
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
