"""`python -m smoke` (what `make smoke` runs): check a deployment from outside and print pass/fail
per check with timings. Exit status 0 when every check passed.

    make smoke STACK=OrderTracking-dev        a deployed stack, with your AWS credentials
    make smoke URL=ws://127.0.0.1:3000 TOKEN=…   any endpoint and a demo-customer token
    make smoke                                a running `make dev` (its client's config.json)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from smoke.checks import run_all
from smoke.target import DEFAULT_DELAYS, Target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smoke", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", help="a deployed stack's name, e.g. OrderTracking-dev")
    where.add_argument("--url", help="a WebSocket endpoint (needs --token)")
    where.add_argument("--client-url", default="http://127.0.0.1:8000/", help="a running make dev's client (default)")
    parser.add_argument("--token", help="a token of the demo customer, for --url")
    parser.add_argument("--min-delay", type=int, help=f"seconds (with --url or --client-url; default {DEFAULT_DELAYS[0]})")
    parser.add_argument("--max-delay", type=int, help=f"seconds (with --url or --client-url; default {DEFAULT_DELAYS[1]})")
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON line")
    args = parser.parse_args(argv)
    delays = (args.min_delay or DEFAULT_DELAYS[0], args.max_delay or DEFAULT_DELAYS[1])
    if args.stack:
        target = Target.from_stack(args.stack)
    elif args.url:
        if not args.token:
            parser.error("--url needs --token")
        target = Target.with_token(args.url, args.token, *delays)
    else:
        target = Target.from_client_config(args.client_url, *delays)
    print(f"smoke check of {target.name} (delays {target.min_delay}-{target.max_delay} s)")
    results = asyncio.run(run_all(target))
    for result in results:
        print(f"{'PASS' if result.passed else 'FAIL'}  {result.name:<40} {result.seconds:6.2f} s  {result.detail}")
    passed = sum(r.passed for r in results)
    print(f"{passed} passed, {len(results) - passed} failed")
    if args.json:
        print(json.dumps([r.__dict__ for r in results]))
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
