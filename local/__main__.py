"""Command line of local mode: `python -m local run [options]` (what `make dev` runs)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from local.cli.options import LocalOptions, PortInUse
from local.cli.run import serve
from local.runtime.workers import ImportFailed

MIN_RETENTION_SECONDS = 60  # the handlers' own minimum (order_tracking.runtime.settings, which this module does not import)
DEFAULT_CLIENT_URL = "http://127.0.0.1:8000/"  # --web-port's default


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


def _print_token(args: argparse.Namespace) -> None:
    from local.cli.running import find
    from local.cli.tokens import deployed_token, local_signing_secret, mint, with_token

    if args.deployed:
        token, url = deployed_token(args.deployed, args.customer, args.ttl)
        print(f"token: {token}\nwebsocket: {url}\nclient: add ?token={token} to the client URL")
        return
    token = mint(args.customer, local_signing_secret(), args.ttl)
    running = find()
    client_url = args.client_url or (running.client if running else DEFAULT_CLIENT_URL)
    print(f"token: {token}\nclient: {with_token(client_url, token)}")
    if running is None and args.client_url is None:
        print(f"(no local mode is running: make dev serves its client at {DEFAULT_CLIENT_URL} unless told another port)")


def command_line() -> argparse.ArgumentParser:
    """The command line: `run` and `token` (docs/local-mode.md and docs/operations.md document every
    option: tests/infra/test_docs_match_code.py)."""
    parser = argparse.ArgumentParser(prog="python -m local", description="Run the order-tracking stack on localhost.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the synthesized deployment locally")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--ws-port", type=int, default=3000, help="WebSocket and @connections port (0: any free port)")
    run.add_argument("--web-port", type=int, default=8000, help="client port (0: any free port)")
    run.add_argument(
        "--aws-port", type=int, default=3001, help="the AWS endpoint's port: DynamoDB, Step Functions, EventBridge... (0: any)"
    )
    run.add_argument("--min-delay", type=_non_negative, help="seconds; overrides the stack's minDelaySeconds")
    run.add_argument("--max-delay", type=_non_negative, help="seconds; overrides the stack's maxDelaySeconds")
    run.add_argument("--idle-timeout", type=float, default=600, help="seconds without a client message before closing")
    run.add_argument("--max-lifetime", type=float, default=7200, help="seconds a connection may live")
    run.add_argument("--max-connections-per-customer", type=int, help="overrides the stack's maxConnectionsPerCustomer")
    run.add_argument("--workers", type=int, default=2, help="Lambda worker processes per function")
    run.add_argument("--log-level", default="WARNING", help="handlers' Powertools log level (INFO shows their JSON logs)")
    run.add_argument(
        "--keep-executions", type=float, default=60, help="seconds finished executions and their history stay readable"
    )
    run.add_argument(
        "--retention",
        type=int,
        help="seconds trackings are kept for resume (at least 60); overrides the stack's retentionHours, e.g. for a memory soak",
    )
    run.add_argument(
        "--alarm-every", type=float, default=10.0, help="seconds between evaluations of the stack's alarms (CloudWatch's own: 60)"
    )
    run.add_argument("--quiet", action="store_true", help="print only the ready lines and errors")
    run.add_argument("--no-watch", action="store_true", help="do not reload handlers, the stack and the client on edits")
    token = commands.add_parser("token", help="print a customer token and a ready client URL")
    token.add_argument("--customer", default="demo")
    token.add_argument("--ttl", type=int, default=3600, help="seconds the token is valid")
    token.add_argument("--deployed", metavar="STACK", help="sign with the secret of this deployed stack (e.g. OrderTracking-dev)")
    token.add_argument("--client-url", help="the local client's URL to print (default: the running make dev's)")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = command_line()
    args = parser.parse_args(argv)
    if args.command == "token":
        _print_token(args)
        return
    if args.min_delay is not None and args.max_delay is not None and args.min_delay > args.max_delay:
        parser.error("--min-delay must not exceed --max-delay")
    if args.retention is not None and args.retention < MIN_RETENTION_SECONDS:
        parser.error(f"--retention must be at least {MIN_RETENTION_SECONDS} seconds")
    options = LocalOptions(
        host=args.host,
        ws_port=args.ws_port,
        web_port=args.web_port,
        aws_port=args.aws_port,
        min_delay=args.min_delay,
        max_delay=args.max_delay,
        idle_timeout=args.idle_timeout,
        max_lifetime=args.max_lifetime,
        workers=args.workers,
        max_connections_per_customer=args.max_connections_per_customer,
        log_level=args.log_level,
        keep_executions=args.keep_executions,
        retention=args.retention,
        quiet=args.quiet,
        alarm_every=args.alarm_every,
        watch=not args.no_watch,
    )
    try:
        asyncio.run(serve(options))
    except KeyboardInterrupt:
        pass
    except (PortInUse, ImportFailed) as failed:
        print(f"local mode did not start: {failed}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
