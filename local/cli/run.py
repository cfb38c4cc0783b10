"""`python -m local run`: the synthesized deployment on localhost, wired from cdk.out/.

moto server (DynamoDB, Step Functions) ◀─ Lambda Invoke endpoint ─▶ handler workers
WebSocket gateway ws://127.0.0.1:3000 (+ @connections) ─▶ route handlers
static client http://127.0.0.1:8000/ (+ config.json)
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading

from local.aws import dynamodb_ttl, moto_patches
from local.aws.cloudwatch import LocalCloudWatch
from local.aws.eventbridge import EventDelivery
from local.aws.services import LocalAws
from local.cli.options import LocalOptions, Override, bind, taken
from local.cli.reload import Reloader
from local.cli.running import Running, announce, withdraw
from local.cli.tokens import DEMO_CUSTOMER_ID, local_signing_secret, mint, with_token
from local.console.lines import Console
from local.gateway.web_server import StaticSite
from local.gateway.websocket import WebSocketGateway
from local.iam.policies import ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY, LocalIam
from local.iam.resource_policies import LambdaPermissions
from local.runtime.workers import LambdaRuntime
from local.template.names import queue_url
from local.template.stack import SynthesizedStack
from local.template.synth import ROOT, ensure_synth

PRUNE_EVERY_SECONDS = 30
DEV_TOKEN_SECONDS = 12 * 3600  # the demo customer's token in config.json and the printed URL


class LocalMode:
    def __init__(self, options: LocalOptions, console: Console | None = None) -> None:
        self.options = options
        self.console = console or Console(quiet=options.quiet)
        self._stop_pruning = threading.Event()

    def overrides(self) -> dict[str, Override]:
        """The stack's environment variables that this run's flags replace (they win over cdk.json,
        also after a reload that changes cdk.json)."""
        opts = self.options
        flags = {
            "MIN_DELAY_SECONDS": ("--min-delay", opts.min_delay),
            "MAX_DELAY_SECONDS": ("--max-delay", opts.max_delay),
            "MAX_CONNECTIONS_PER_CUSTOMER": ("--max-connections-per-customer", opts.max_connections_per_customer),
            "RETENTION_SECONDS": ("--retention", opts.retention),
        }
        found = {name: Override(str(value), f"{flag} {value}") for name, (flag, value) in flags.items() if value is not None}
        return {"POWERTOOLS_LOG_LEVEL": Override(opts.log_level, f"--log-level {opts.log_level}"), **found}

    async def start(self) -> None:
        opts = self.options
        self.stack = stack = SynthesizedStack.load(ensure_synth(opts.cdk_out))
        api = stack.websocket_api()
        self.iam = LocalIam.from_stack(stack)
        self.aws = bind(
            opts.aws_port,
            "--aws-port",
            lambda: LocalAws(host=opts.host, port=opts.aws_port, iam=self.iam, dynamodb_process=opts.dynamodb_process),
        ).start()
        secret = local_signing_secret()
        self.aws.provision(stack, secret)
        self.dev_token = mint(DEMO_CUSTOMER_ID, secret, DEV_TOKEN_SECONDS)
        self.gateway = WebSocketGateway(
            api,
            lambda function, event: self.runtime.invoke(function, event),  # noqa: PLW0108 - runtime comes later
            host=opts.host,
            port=opts.ws_port,
            console=self.console,
            idle_timeout=opts.idle_timeout,
            max_lifetime=opts.max_lifetime,
            iam=self.iam,
            permissions=LambdaPermissions(stack.permissions()),
        )
        try:
            await self.gateway.start()
        except OSError as error:
            raise taken(error, opts.ws_port, "--ws-port") from None
        # The template's management endpoint (https://{api}.execute-api...) is this gateway here.
        self.runtime = LambdaRuntime(
            stack.functions(),
            aws_environment=self.aws.environment,
            value_rewrites={api.callback_url: self.gateway.management_endpoint},
            env_overrides={name: override.value for name, override in self.overrides().items()},
            workers_per_function=opts.workers,
            iam=self.iam,
        )
        self.aws.runtime = self.runtime
        # The template's alarms, fed what local mode observes (local/aws/cloudwatch.py).
        self.cloudwatch = LocalCloudWatch(
            stack,
            self.aws.client,
            self.console,
            sample_queues=self._queue_depths,
            finished_executions=self._newly_ended_executions,
        )
        self.runtime.observer = lambda spec, invocation: self.cloudwatch.record_invocation(
            spec.name, invocation.duration_ms, invocation.error is not None
        )
        self.runtime.on_metric_line = self.cloudwatch.record_emf
        self._seen_executions: set[str] = set()
        # EventBridge rules' Lambda targets (the publish path of live orders).
        self.events = EventDelivery.start(stack, self.aws, self.runtime, self.console)
        await asyncio.get_running_loop().run_in_executor(None, self.runtime.warm_up)
        config = {"wsUrl": self.gateway.url, "token": self.dev_token}
        self.site = bind(
            opts.web_port,
            "--web-port",
            lambda: StaticSite(
                opts.client_dir,
                config,
                host=opts.host,
                port=opts.web_port,
                behaviours=stack.client_response_headers(self.gateway.url),
            ),
        ).start()
        threading.Thread(target=self._prune, name="prune", daemon=True).start()
        self.cloudwatch.start(opts.alarm_every)
        self.console.log("READY", f"client    {self.site.url}")
        self.console.log("READY", f"websocket {with_token(self.gateway.url, self.dev_token)}")
        self.console.log(
            "INFO",
            "not emulated (deploy-only or AWS-side): "
            + ", ".join(self.stack.not_emulated())
            + f"; the {len(self.cloudwatch.alarms)} alarms are evaluated every {opts.alarm_every:g} s from what local mode sees",
        )
        self.console.log(
            "INFO",
            "IAM enforced: each function and the state machine may make only the calls their roles in the "
            f"template allow; your own tools sign as the administrator with key {ADMIN_ACCESS_KEY!r}, "
            f"secret {ADMIN_SECRET_KEY!r}",
        )
        buses = ", ".join(stack.event_buses())
        self.console.log(
            "INFO",
            f"live orders: make publish ORDER=LV-2001 TYPE=order_created publishes on the bus {buses} (docs/publishing.md)",
        )
        if opts.announce:  # before the last READY line: whoever waits for it finds the file
            announce(Running(os.getpid(), self.site.url, self.gateway.url, self.aws.endpoint, *self.delays()))
        self.console.log("READY", f"aws       {self.aws.endpoint} (moto: DynamoDB, Step Functions, SQS, EventBridge)")

    def delays(self) -> tuple[int, int]:
        """The bounds of the waits between events this run has: its flags', else the stack's."""
        overrides = self.overrides()
        (track_order,) = [f for f in self.stack.functions().values() if "MIN_DELAY_SECONDS" in f.environment]
        return tuple(  # type: ignore[return-value]
            int(overrides[name].value if name in overrides else track_order.environment[name])
            for name in ("MIN_DELAY_SECONDS", "MAX_DELAY_SECONDS")
        )

    def _queue_depths(self) -> dict[str, int]:
        """Each of the stack's queues: its messages visible now (CloudWatch's ApproximateNumberOfMessagesVisible)."""
        sqs = self.aws.client("sqs")
        depths = {}
        for name in self.stack.queues():
            attributes = sqs.get_queue_attributes(QueueUrl=queue_url(name), AttributeNames=["ApproximateNumberOfMessages"])
            depths[name] = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
        return depths

    def _newly_ended_executions(self) -> list[tuple[str, str]]:
        """(state machine ARN, status) of each execution that ended since the last call."""
        ended = moto_patches.ended_executions()
        new = [(machine, status) for machine, execution, status in ended if execution not in self._seen_executions]
        self._seen_executions = {execution for _, execution, _ in ended}  # what pruning dropped is forgotten
        return new

    def _prune(self) -> None:
        """What AWS forgets by itself: finished executions (EXPRESS keeps no history to read) and
        items past their TTL (local/aws/dynamodb_ttl.py)."""
        dynamodb = self.aws.client("dynamodb")
        while not self._stop_pruning.wait(PRUNE_EVERY_SECONDS):
            moto_patches.prune_finished_executions(self.options.keep_executions)
            try:
                dynamodb_ttl.expire_items(dynamodb, self.stack.tables())
            except Exception as error:  # a sweep that fails is tried again at the next one
                self.console.log("ERROR", f"TTL sweep failed: {type(error).__name__}: {error}")

    async def stop(self) -> None:
        """Stop what runs (all of it, or what a start that failed had started)."""
        if self.options.announce:
            withdraw(os.getpid())
        self._stop_pruning.set()
        if hasattr(self, "cloudwatch"):
            self.cloudwatch.stop()
        if hasattr(self, "events"):
            self.events.stop()
        if hasattr(self, "gateway"):
            await self.gateway.stop()
        if hasattr(self, "site"):
            self.site.stop()
        if hasattr(self, "aws"):
            self.aws.stop()


async def serve(options: LocalOptions) -> None:
    mode = LocalMode(options)
    try:
        await mode.start()
    except BaseException:
        await mode.stop()
        raise
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    reloader = Reloader(mode, ROOT) if options.watch else None
    watching = asyncio.create_task(reloader.run(stopped)) if reloader else None
    if reloader:
        mode.console.log("INFO", "watching lambdas/, infra/, app.py, cdk.json and client/: edits reload live (--no-watch: off)")
    await stopped.wait()
    mode.console.log("INFO", "stopping")
    if watching:
        await asyncio.wait([watching], timeout=2)
    if reloader:
        reloader.close()
    await mode.stop()
