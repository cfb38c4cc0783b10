"""CloudWatch in local mode: the template's alarms, fed what local mode observes, evaluated as
CloudWatch evaluates them, so an alarm that would page on AWS pages on the laptop first.

- The alarms are created in moto's CloudWatch (`aws cloudwatch describe-alarms` on the local AWS
  endpoint reads their state) and their SNS topics in moto's SNS (an alarm's action publishes there,
  as CloudWatch does, with CloudWatch's message).
- The metrics come from what local mode sees: each function's `Invocations`, `Errors`, `Throttles`
  (none: local Lambda never throttles) and `Duration` (AWS/Lambda, by FunctionName), the state
  machines' `ExecutionsFailed` and `ExecutionsTimedOut` (AWS/States, by StateMachineArn), the queues'
  `ApproximateNumberOfMessagesVisible` (AWS/SQS, by QueueName, sampled at each evaluation), and the
  handlers' own metrics, parsed from the Embedded Metric Format lines they print.
- Every EVALUATE_EVERY_SECONDS each alarm is evaluated over its own period as a sliding window (its
  statistic, or its metric math: `SUM([...])`, `+`, `-`, `*`, `/`, `FILL(m, v)`), its threshold and
  comparison, and its missing-data treatment. A change of state is printed: `ALARM <name>: <reason>`
  when one goes to ALARM, `OK <name>` when it clears.

Not emulated: more than one evaluation period (every alarm of the stack has one), anomaly detection,
composite alarms, DynamoDB's ThrottledRequests (local DynamoDB does not throttle).
"""

from __future__ import annotations

import ast
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local.console.lines import Console
from local.template.names import ACCOUNT_ID, REGION
from local.template.stack import SynthesizedStack

EVALUATE_EVERY_SECONDS = 10.0
KEEP_SECONDS = 24 * 3600  # datapoints older than every alarm's period are forgotten
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
COMPARISON_WORDS = {
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "GreaterThanThreshold": "greater than",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}

MetricKey = tuple[str, str, frozenset[tuple[str, str]]]  # namespace, name, dimensions


def metric_key(namespace: str, name: str, dimensions: dict[str, str]) -> MetricKey:
    return namespace, name, frozenset(dimensions.items())


class MetricStore:
    """Datapoints (time, value) by metric, kept for KEEP_SECONDS. Thread-safe."""

    def __init__(self) -> None:
        self._points: dict[MetricKey, deque[tuple[float, float]]] = {}
        self._lock = threading.Lock()

    def add(self, namespace: str, name: str, dimensions: dict[str, str], value: float, at: float | None = None) -> None:
        moment = time.time() if at is None else at
        with self._lock:
            points = self._points.setdefault(metric_key(namespace, name, dimensions), deque())
            points.append((moment, float(value)))
            while points and points[0][0] < moment - KEEP_SECONDS:
                points.popleft()

    def statistic(self, key: MetricKey, stat: str, since: float) -> float | None:
        """`stat` of the datapoints since `since`; None when there are none (missing data)."""
        with self._lock:
            values = [value for moment, value in self._points.get(key, ()) if moment >= since]
        if not values:
            return None
        if stat == "Sum":
            return sum(values)
        if stat == "Maximum":
            return max(values)
        if stat == "Minimum":
            return min(values)
        if stat == "Average":
            return sum(values) / len(values)
        if stat == "SampleCount":
            return float(len(values))
        raise ValueError(f"statistic {stat} is not emulated")


@dataclass(frozen=True)
class MetricStat:
    key: MetricKey
    stat: str
    period: int


@dataclass
class AlarmSpec:
    """An AWS::CloudWatch::Alarm of the template, resolved to local names."""

    name: str
    description: str
    comparison: str
    threshold: float
    period: int
    treat_missing_data: str
    actions: list[str]
    metric: MetricStat | None = None  # a single metric, or
    expression: str | None = None  # metric math over `queries`
    queries: dict[str, MetricStat] = field(default_factory=dict)
    state: str = "INSUFFICIENT_DATA"


def alarms_of(stack: SynthesizedStack) -> list[AlarmSpec]:
    """The template's alarms, each named by its logical id (CloudFormation would generate a name)."""
    specs = []
    for logical_id, resource in stack.resources.items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = stack.resolver.resolve(resource["Properties"])
        spec = AlarmSpec(
            name=str(props.get("AlarmName", logical_id)),
            description=str(props.get("AlarmDescription", "")),
            comparison=str(props["ComparisonOperator"]),
            threshold=float(props["Threshold"]),
            period=int(props.get("Period", 0)),
            treat_missing_data=str(props.get("TreatMissingData", "missing")),
            actions=[str(a) for a in props.get("AlarmActions", [])],
        )
        if "Metrics" in props:
            for query in props["Metrics"]:
                if "Expression" in query:
                    spec.expression = str(query["Expression"])
                else:
                    stat = query["MetricStat"]
                    metric = stat["Metric"]
                    spec.queries[query["Id"]] = MetricStat(
                        metric_key(metric["Namespace"], metric["MetricName"], _dimensions(metric.get("Dimensions"))),
                        str(stat["Stat"]),
                        int(stat["Period"]),
                    )
            spec.period = max(q.period for q in spec.queries.values())
        else:
            key = metric_key(props["Namespace"], props["MetricName"], _dimensions(props.get("Dimensions")))
            spec.metric = MetricStat(key, str(props.get("Statistic", "Sum")), spec.period)
        specs.append(spec)
    return specs


def _dimensions(raw: Any) -> dict[str, str]:
    return {str(d["Name"]): str(d["Value"]) for d in raw or []}


def value_of(spec: AlarmSpec, store: MetricStore, now: float) -> float | None:
    """The alarm's value over its period, ending now (None: no data)."""
    if spec.metric is not None:
        return store.statistic(spec.metric.key, spec.metric.stat, now - spec.metric.period)
    values = {query_id: store.statistic(q.key, q.stat, now - q.period) for query_id, q in spec.queries.items()}
    assert spec.expression is not None, f"alarm {spec.name} has neither a metric nor an expression"
    return evaluate_expression(spec.expression, values)


def evaluate_expression(expression: str, values: dict[str, float | None]) -> float | None:
    """CloudWatch metric math, the part a stack's alarms use: ids, numbers, + - * /, SUM([...]) and
    FILL(m, value). A metric with no data is None; SUM ignores those (None if all are), the operators
    give None."""

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.List):
            return [walk(element) for element in node.elts]
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            left, right = walk(node.left), walk(node.right)
            if left is None or right is None:
                return None
            operations = {ast.Add: float.__add__, ast.Sub: float.__sub__, ast.Mult: float.__mul__, ast.Div: float.__truediv__}
            return operations[type(node.op)](left, right)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            arguments = [walk(argument) for argument in node.args]
            if node.func.id == "SUM" and len(arguments) == 1 and isinstance(arguments[0], list):
                present = [value for value in arguments[0] if value is not None]
                return sum(present) if present else None
            if node.func.id == "FILL" and len(arguments) == 2:
                return arguments[1] if arguments[0] is None else arguments[0]
        raise ValueError(f"metric math not emulated: {ast.dump(node)[:80]}")

    return walk(ast.parse(expression, mode="eval"))  # type: ignore[no-any-return]


def new_state(spec: AlarmSpec, value: float | None) -> tuple[str, str]:
    """(state, reason) as CloudWatch words them, for one evaluation period."""
    words = COMPARISON_WORDS[spec.comparison]
    if value is None:
        if spec.treat_missing_data in ("notBreaching", "ignore"):
            return ("OK" if spec.treat_missing_data == "notBreaching" else spec.state), "no datapoints: treated as not breaching"
        if spec.treat_missing_data == "breaching":
            return "ALARM", "no datapoints: treated as breaching"
        return "INSUFFICIENT_DATA", "Insufficient Data: 0 datapoints were received"
    breaching = COMPARISONS[spec.comparison](value, spec.threshold)
    stamp = datetime.now(UTC).strftime("%d/%m/%y %H:%M:%S")
    if breaching:
        return "ALARM", f"Threshold Crossed: 1 datapoint [{value:g} ({stamp})] was {words} the threshold ({spec.threshold:g})."
    return "OK", f"Threshold Crossed: 1 datapoint [{value:g} ({stamp})] was not {words} the threshold ({spec.threshold:g})."


class LocalCloudWatch:
    """The stack's alarms over local mode's metrics: evaluated every EVALUATE_EVERY_SECONDS, their
    state in moto's CloudWatch, their actions published to moto's SNS, their changes on the console."""

    def __init__(
        self,
        stack: SynthesizedStack,
        client: Callable[[str], Any],
        console: Console,
        *,
        sample_queues: Callable[[], dict[str, int]],
        finished_executions: Callable[[], list[tuple[str, str]]],
    ) -> None:
        """`client(service)`: boto3 clients of local mode (as CloudWatch itself, the administrator);
        `sample_queues()`: {queue name: messages visible}; `finished_executions()`: the executions that
        ended since the last call, as (state machine ARN, status)."""
        self.store = MetricStore()
        self.alarms = alarms_of(stack)
        self._client = client
        self.console = console
        self._sample_queues = sample_queues
        self._finished_executions = finished_executions
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, every: float = EVALUATE_EVERY_SECONDS) -> LocalCloudWatch:
        cloudwatch = self._client("cloudwatch")
        for spec in self.alarms:
            cloudwatch.put_metric_alarm(**_as_put_metric_alarm(spec))
        self._thread = threading.Thread(target=self._run, args=(every,), name="cloudwatch", daemon=True)
        self._thread.start()
        return self

    def update(self, stack: SynthesizedStack) -> None:
        """The template changed (a reload): its alarms from now on, keeping the states of those it kept."""
        states = {spec.name: spec.state for spec in self.alarms}
        alarms = alarms_of(stack)
        for spec in alarms:
            spec.state = states.get(spec.name, spec.state)
            self._client("cloudwatch").put_metric_alarm(**_as_put_metric_alarm(spec))
        with self._lock:
            self.alarms = alarms

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- what local mode observes ----------------------------------------------------------------

    def record_invocation(self, function: str, duration_ms: float, error: bool) -> None:
        dimensions = {"FunctionName": function}
        self.store.add("AWS/Lambda", "Invocations", dimensions, 1)
        self.store.add("AWS/Lambda", "Errors", dimensions, 1 if error else 0)
        self.store.add("AWS/Lambda", "Duration", dimensions, duration_ms)

    def record_emf(self, line: str) -> None:
        """A handler's Embedded Metric Format line: each metric of each directive, with its dimensions."""
        try:
            blob = json.loads(line)
            directives = blob["_aws"]["CloudWatchMetrics"]
            at = float(blob["_aws"].get("Timestamp", time.time() * 1000)) / 1000
            for directive in directives:
                for dimension_set in directive.get("Dimensions") or [[]]:
                    dimensions = {name: str(blob[name]) for name in dimension_set}
                    for metric in directive["Metrics"]:
                        value = blob[metric["Name"]]
                        for one in value if isinstance(value, list) else [value]:
                            self.store.add(directive["Namespace"], metric["Name"], dimensions, float(one), at)
        except (ValueError, KeyError, TypeError) as error:
            self.console.log("ERROR", f"a metric line that is not EMF: {type(error).__name__}: {line[:120]}")

    # -- evaluation ------------------------------------------------------------------------------

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.evaluate()
            except Exception as error:  # an evaluation that fails is tried again at the next one
                self.console.log("ERROR", f"alarm evaluation failed: {type(error).__name__}: {error}")

    def sample(self) -> None:
        """What is sampled rather than pushed: the queues' depth, the executions that ended."""
        for queue, visible in self._sample_queues().items():
            self.store.add("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue}, visible)
        for machine, status in self._finished_executions():
            dimensions = {"StateMachineArn": machine}
            self.store.add("AWS/States", "ExecutionsFailed", dimensions, 1 if status == "FAILED" else 0)
            self.store.add("AWS/States", "ExecutionsTimedOut", dimensions, 1 if status == "TIMED_OUT" else 0)
            self.store.add("AWS/States", "ExecutionsSucceeded", dimensions, 1 if status == "SUCCEEDED" else 0)

    def evaluate(self) -> list[tuple[str, str]]:
        """Sample, evaluate every alarm now; returns the changes of state as (alarm, new state)."""
        self.sample()
        now = time.time()
        changes = []
        with self._lock:
            alarms = list(self.alarms)
        for spec in alarms:
            state, reason = new_state(spec, value_of(spec, self.store, now))
            if state == spec.state:
                continue
            before, spec.state = spec.state, state
            changes.append((spec.name, state))
            self._client("cloudwatch").set_alarm_state(AlarmName=spec.name, StateValue=state, StateReason=reason[:1023])
            if state == "ALARM":
                self.console.log("ALARM", f"{spec.name}: {reason}")
                self._notify(spec, before, reason)
            elif before == "ALARM":
                self.console.log("OK", spec.name)
        return changes

    def _notify(self, spec: AlarmSpec, before: str, reason: str) -> None:
        """The alarm's actions: CloudWatch's notification on each of its SNS topics."""
        message = {
            "AlarmName": spec.name,
            "AlarmDescription": spec.description,
            "AWSAccountId": ACCOUNT_ID,
            "NewStateValue": "ALARM",
            "NewStateReason": reason,
            "StateChangeTime": datetime.now(UTC).isoformat(),
            "Region": REGION,
            "OldStateValue": before,
        }
        sns = self._client("sns")
        for topic in spec.actions:
            if topic.startswith("arn:aws:sns:"):
                sns.publish(TopicArn=topic, Subject=f'ALARM: "{spec.name}" in {REGION}'[:100], Message=json.dumps(message))


def _as_put_metric_alarm(spec: AlarmSpec) -> dict[str, Any]:
    """The alarm as PutMetricAlarm takes it (what `aws cloudwatch describe-alarms` then shows)."""
    common: dict[str, Any] = {
        "AlarmName": spec.name,
        "AlarmDescription": spec.description,
        "ComparisonOperator": spec.comparison,
        "Threshold": spec.threshold,
        "EvaluationPeriods": 1,
        "TreatMissingData": spec.treat_missing_data,
        "AlarmActions": spec.actions,
    }
    if spec.metric is not None:
        return {**common, **_metric(spec.metric.key), "Statistic": spec.metric.stat, "Period": spec.metric.period}
    queries: list[dict[str, Any]] = [{"Id": "expr_1", "Expression": spec.expression, "ReturnData": True}]
    for query_id, query in spec.queries.items():
        stat = {"Metric": _metric(query.key), "Period": query.period, "Stat": query.stat}
        queries.append({"Id": query_id, "MetricStat": stat, "ReturnData": False})
    return {**common, "Metrics": queries}


def _metric(key: MetricKey) -> dict[str, Any]:
    namespace, name, dimensions = key
    return {"Namespace": namespace, "MetricName": name, "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(dimensions)]}
