"""Names that infra/ (what is deployed), lambdas/ (what runs there) and the state machine share, and the
defaults the docs state. Where importing across the deploy/runtime boundary would couple the two,
each keeps its copy and this file proves the copies equal, in the synthesized template itself."""

from __future__ import annotations

import json
import re
import tomllib

from handlers.emit import TransientFault
from order_tracking.connections.store import CONNECTIONS_BY_CUSTOMER
from order_tracking.orders.catalog import OrderKind
from order_tracking.runtime.observability import Metric
from order_tracking.simulated.lifecycle import EmitOutcome
from order_tracking.wire.publish import DETAIL_TYPE

from infra import order_publishing, seed_orders, tables, tracking_workflow
from infra.config import DEFAULTS, ROOT
from infra.handler_function import RUNTIME


def definition(stack) -> dict:
    (machine,) = stack.state_machines()
    return json.loads(machine.definition)


def states(node: dict):
    """Every state of a definition, those inside Map iterators included."""
    for state in node.get("States", {}).values():
        yield state
        for inner in ("Iterator", "ItemProcessor"):
            if inner in state:
                yield from states(state[inner])


def test_the_connection_index_has_one_name(stack):
    (connections,) = [t for t in stack.tables() if t.name.startswith("TablesConnections")]
    (index,) = connections.global_secondary_indexes
    assert index["IndexName"] == tables.CONNECTIONS_BY_CUSTOMER == CONNECTIONS_BY_CUSTOMER


def test_every_seed_order_is_written_with_the_kind_track_order_reads(stack):
    items = [call.parameters["Item"] for call in stack.sdk_calls() if call.action == "putItem"]
    assert items and {item["kind"]["S"] for item in items} == {seed_orders.SIMULATED} == {OrderKind.SIMULATED.value}


def test_the_state_machine_retries_the_error_emit_raises(stack):
    retried = {name for state in states(definition(stack)) for rule in state.get("Retry", []) for name in rule["ErrorEquals"]}
    assert TransientFault.__name__ == tracking_workflow.TRANSIENT_ERROR
    assert TransientFault.__name__ in retried


def test_the_state_machine_branches_only_on_outcomes_emit_returns(stack):
    compared = {
        choice["StringEquals"]
        for state in states(definition(stack))
        if state["Type"] == "Choice"
        for choice in state["Choices"]
        if choice.get("Variable") == "$.emit.outcome"
    }
    assert compared == {tracking_workflow.SUPERSEDED_OUTCOME} == {EmitOutcome.SUPERSEDED.value}
    assert compared <= {outcome.value for outcome in EmitOutcome}


def test_alarms_and_dashboard_read_only_metrics_the_handlers_publish(stack):
    namespace = "OrderTracking/dev"
    alarmed = {
        r["Properties"]["MetricName"]
        for r in stack.resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("Namespace") == namespace
    }
    (dashboard,) = [r for r in stack.resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = "".join(part for part in dashboard["Properties"]["DashboardBody"]["Fn::Join"][1] if isinstance(part, str))
    graphed = set(re.findall(r'\["OrderTracking/dev","(\w+)"', body))
    published = {metric.value for metric in Metric}
    assert alarmed and graphed, "the template has no application metric: the search below would prove nothing"
    assert alarmed | graphed <= published, sorted((alarmed | graphed) - published)


def test_the_defaults_the_docs_state_are_cdk_json_s(stack):
    table = (ROOT / "docs" / "operations.md").read_text()
    stated = dict(re.findall(r"^\| `(\w+)` \| (\d+) \|", table, re.M))
    for pair in re.findall(r"^\| `(\w+)` / `(\w+)` \| (\d+) / (\d+) \|", table, re.M):
        stated[pair[0]], stated[pair[1]] = pair[2], pair[3]
    numeric = {key: value for key, value in DEFAULTS.items() if isinstance(value, int) and not isinstance(value, bool)}
    assert numeric and {key: int(value) for key, value in stated.items() if key in numeric} == numeric
    (track_order,) = [f for f in stack.functions().values() if f.handler == "handlers.track_order.handler"]
    assert int(track_order.environment["MIN_DELAY_SECONDS"]) == DEFAULTS["minDelaySeconds"]
    assert int(track_order.environment["MAX_DELAY_SECONDS"]) == DEFAULTS["maxDelaySeconds"]
    assert int(track_order.environment["RETENTION_SECONDS"]) == DEFAULTS["retentionHours"] * 3600


def test_the_rule_matches_the_detail_type_the_publish_function_documents(stack):
    (rule,) = stack.rules()
    assert rule.event_pattern == {"detail-type": [DETAIL_TYPE]} and DETAIL_TYPE == order_publishing.DETAIL_TYPE


def test_lambdas_are_linted_and_type_checked_for_the_runtime_they_are_deployed_on():
    version = RUNTIME.name.removeprefix("python")  # "3.14"
    ruff = tomllib.loads((ROOT / "lambdas" / "ruff.toml").read_text())
    assert ruff["target-version"] == "py" + version.replace(".", "")
    makefile = (ROOT / "Makefile").read_text()
    assert f"LAMBDA_PYTHON := {version}" in makefile
    assert "mypy --python-version $(LAMBDA_PYTHON) -p handlers -p order_tracking" in makefile
