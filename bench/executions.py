"""The tracking executions of local mode's state machine, read back from moto's Step Functions."""

from __future__ import annotations

from typing import Any


def executions_by_name(sfn: Any) -> dict[str, str]:
    """Execution name (a tracking id) -> execution ARN, for every execution of the stack's state machine."""
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    arns: dict[str, str] = {}
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine):
        arns.update({e["name"]: e["executionArn"] for e in page["executions"]})
    return arns


def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """An execution's history events (a tracking's execution has a few dozen)."""
    events: list[dict[str, Any]] = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return events
