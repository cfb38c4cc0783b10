"""EventBridge in local mode. The stack's buses and rules live in moto's events backend (created from
the template at start, local/aws/services.py), which takes PutEvents and matches each event against
the rules' patterns. moto does not invoke a rule's Lambda targets: they are delivered here, as
EventBridge delivers them:

- only if the function's resource-based policy (its AWS::Lambda::Permission statements) lets
  events.amazonaws.com invoke it from that rule. Otherwise EventBridge cannot invoke it; once its
  retries are spent the event goes to the target's dead-letter queue, with EventBridge's error
  attributes (RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE), or is dropped without one. Local
  mode does not wait out the retries (up to 24 hours): it dead-letters at once;
- asynchronously, as Lambda's asynchronous invocation (local/aws/lambda_async.py);
- in EventBridge's shape: version, id, detail-type, source, account, time (ISO 8601, where moto
  writes epoch seconds), region, resources, detail.

Not emulated: input transformers of Lambda targets (the stack has none), and EventBridge's own
retries of a throttled invocation (local Lambda never throttles).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from local.aws import moto_patches
from local.aws.lambda_async import AsyncInvoker
from local.console.lines import Console
from local.iam.resource_policies import EVENTS_PRINCIPAL, LambdaPermissions
from local.template.names import queue_url
from local.template.stack import SynthesizedStack

if TYPE_CHECKING:
    from local.runtime.workers import LambdaRuntime
    from local.template.specs import FunctionSpec


class Clients(Protocol):
    """Clients of local mode's AWS side (aws/services.py's LocalAws): as its administrator, or as a function's role."""

    def client(self, service: str) -> Any: ...

    def client_as(self, function: FunctionSpec, service: str) -> Any: ...


class EventDelivery:
    """Delivers the events moto's rules matched to their Lambda targets (moto_patches calls `deliver`)."""

    def __init__(self, stack: SynthesizedStack, invoker: AsyncInvoker, sqs: Any, console: Console) -> None:
        """`sqs`: a client for the dead-letter queues (EventBridge sends to them as its service)."""
        self.invoker = invoker
        self.sqs = sqs
        self.console = console
        self.update(stack)

    @classmethod
    def start(cls, stack: SynthesizedStack, aws: Clients, runtime: LambdaRuntime, console: Console) -> EventDelivery:
        """Deliver what moto's rules match from now on, invoking functions asynchronously in `runtime`
        (their on-failure records sent with their own roles' credentials)."""
        invoker = AsyncInvoker(
            runtime,
            stack.async_invoke_configs(),
            lambda function: aws.client_as(runtime.functions[function], "sqs"),
            console,
            on_success=lambda event, payload: log_publish(console, event, payload),
        )
        delivery = cls(stack, invoker, aws.client("sqs"), console)
        moto_patches.deliver_lambda_targets(delivery.deliver)
        return delivery

    def stop(self) -> None:
        moto_patches.deliver_lambda_targets(None)
        self.invoker.close()

    def update(self, stack: SynthesizedStack) -> None:
        """The template changed (a reload): its rules' targets and its functions' policies from now on."""
        self.permissions = LambdaPermissions(stack.permissions())
        self.targets = {(rule.arn, target.target_id): target for rule in stack.rules() for target in rule.targets}
        self.invoker.configs = stack.async_invoke_configs()

    def deliver(self, rule_arn: str, target: dict[str, Any], event: dict[str, Any]) -> None:
        event = {**event, "time": _iso(event.get("time"))}
        event.pop("ingestion-time", None)
        try:
            function = self.invoker.runtime.spec(target["Arn"])
        except KeyError:
            self._dead_letter(rule_arn, target, event, "RESOURCE_NOT_FOUND", f"Function not found: {target['Arn']}")
            return
        if not self.permissions.allows(function.logical_id, EVENTS_PRINCIPAL, rule_arn):
            self._dead_letter(
                rule_arn,
                target,
                event,
                "NO_PERMISSIONS",
                f"The function's resource-based policy does not allow {EVENTS_PRINCIPAL} to invoke it "
                f"from {rule_arn} (lambda:InvokeFunction): add an AWS::Lambda::Permission",
            )
            return
        self.invoker.invoke(target["Arn"], event)

    def _dead_letter(self, rule_arn: str, target: dict[str, Any], event: dict[str, Any], code: str, message: str) -> None:
        spec = self.targets.get((rule_arn, target.get("Id", "")))
        queue = spec.dead_letter_queue if spec else None
        self.console.log("ERROR", f"EventBridge could not deliver event {event.get('id')}: {code}: {message}")
        if queue is None:
            return  # without a dead-letter queue, EventBridge drops it
        attributes = {"RULE_ARN": rule_arn, "TARGET_ARN": target["Arn"], "ERROR_CODE": code, "ERROR_MESSAGE": message[:256]}
        self.sqs.send_message(
            QueueUrl=queue_url(queue),
            MessageBody=json.dumps(event),
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )


def log_publish(console: Console, event: dict[str, Any], payload: Any) -> None:
    """The console's line about what the publish function did with a backend's publish (its answer,
    lambdas/handlers/publish.py): PUBLISH with the seq and the watchers posted to, REPEATED for a key
    stored already, REFUSED with the reason's code and words. Other functions' answers say nothing."""
    found = event.get("detail")
    detail: dict[str, Any] = found if isinstance(found, dict) else {}
    if not isinstance(payload, dict) or payload.get("outcome") not in ("delivered", "duplicate", "refused"):
        return
    what = f"{detail.get('orderId')} {detail.get('type')}"
    if payload["outcome"] == "delivered":
        watchers = payload.get("watchers")
        console.log("PUBLISH", f"{what} seq={payload.get('seq')} → {watchers} watcher{'' if watchers == 1 else 's'}")
    elif payload["outcome"] == "duplicate":
        console.log("REPEATED", f"{what} key {detail.get('idempotencyKey')!r}: stored already as seq {payload.get('seq')}")
    else:
        why = f"{payload.get('reason')}: {payload.get('detail')}"
        console.log("REFUSED", f"publish {what}: {why} (on the publish-failures queue)")


def create_buses_and_rules(events: Any, stack: SynthesizedStack) -> None:
    """The stack's buses, rules and targets in moto's events backend (again, after a reload: a rule
    and its targets are replaced as they are now)."""
    existing = {bus["Name"] for bus in events.list_event_buses()["EventBuses"]}
    for name in stack.event_buses():
        if name not in existing:
            events.create_event_bus(Name=name)
    for rule in stack.rules():
        events.put_rule(
            Name=rule.name,
            EventBusName=rule.bus,
            EventPattern=json.dumps(rule.event_pattern),
            State="ENABLED" if rule.enabled else "DISABLED",
        )
        if rule.targets:
            events.put_targets(
                Rule=rule.name,
                EventBusName=rule.bus,
                Targets=[
                    {
                        "Id": target.target_id,
                        "Arn": target.arn,
                        "RetryPolicy": {
                            "MaximumEventAgeInSeconds": target.max_event_age_seconds,
                            "MaximumRetryAttempts": target.retry_attempts,
                        },
                    }
                    for target in rule.targets
                ],
            )


def _iso(moment: Any) -> str:
    if isinstance(moment, (int, float)):
        return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(moment)
