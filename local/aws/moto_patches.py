"""Every change local mode makes to moto, in one place. moto is pinned (requirements.lock) because
these touch its internals; each patch says where moto differs from AWS and what we do instead.

- Step Functions executes state machine definitions (moto's `execute_state_machine` config), so the
  real definition from the template runs locally.
- `States.MathRandom(start, end)`: AWS documents `end` as exclusive, moto draws it inclusive
  (`random.randint`). We follow AWS, so the state machine's `MathRandom(min, max + 1)` yields
  delays in [min, max] in both places.
- Speed: moto parses the definition with ANTLR and builds a boto3 client for every task of every
  execution (a ceiling of about 15-25 executions per second). We cache the parse tree per definition
  (the evaluation components are still built fresh per execution, so no state is shared) and one
  client per (region, service).
- Throughput: moto's server resolves the service of every request under one global lock, listing
  its own package directory each time, and its interpreter builds a JSONPath parser (ply's LR tables)
  for every path it evaluates. `CachingDispatcher` remembers the app per signed service and region;
  JSONPath expressions are parsed once per path.
- Memory: moto keeps every execution, with its history, and every worker thread in
  `parser.utils.TMP_THREADS` forever (about 58 KB per execution). `prune_finished_executions()`
  drops finished ones; local mode calls it periodically so a long run stays flat. And every model
  object moto ever creates (each DynamoDB item, and each copy of one an UpdateItem makes, each SQS
  message...) is appended to its class's `instances_tracked` list, which only moto's own dashboard
  reads: it kept about 170 KB per tracking cycle in the DynamoDB process. `forget_model_instances()`
  stops that, in each process that runs moto.
- IAM: the interpreter's service calls sign as the state machine's role (`sign_interpreter_calls_as`),
  so local mode's IAM check applies the role's policies to them, as AWS does.
- EventBridge: moto matches events against rules but does not invoke Lambda targets. A rule's
  Lambda targets are handed to local mode's delivery (`deliver_lambda_targets`, local/aws/eventbridge.py),
  only for enabled rules, as EventBridge skips disabled ones (moto does not).
- Not patched, noted: StopExecution on an EXPRESS execution succeeds in moto but is refused on AWS
  (our code never calls it), and moto names errors of service integrations as its own clients raise
  them; the emit step's Retry lists the names AWS documents (Lambda.ServiceException, ...).
"""

from __future__ import annotations

import copy
import datetime
import random
import re
import sys
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import boto3
from jsonpath_ng.ext.parser import parse as jsonpath_ext_parse
from jsonpath_ng.parser import parse as jsonpath_parse
from moto.core import common_models
from moto.core.config import default_user_config
from moto.events import models as events_models
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.stepfunctions.parser import utils as parser_utils
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.intrinsic.function.statesfunction.math_operations import math_random
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_factory
from moto.stepfunctions.parser.asl.parse import asl_parser
from moto.stepfunctions.parser.asl.utils import boto_client, json_path

_applied = False
# Where a matched event for a Lambda target goes: (rule ARN, target, event); None: nowhere (moto's own behaviour).
_lambda_delivery: Callable[[str, dict[str, Any], dict[str, Any]], None] | None = None
_original_send_to_targets = events_models.Rule.send_to_targets


def deliver_lambda_targets(delivery: Callable[[str, dict[str, Any], dict[str, Any]], None] | None) -> None:
    global _lambda_delivery
    _lambda_delivery = delivery


def _send_to_targets(self: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
    if self.state != "ENABLED":
        return
    functions = [t for t in self.targets if ":lambda:" in t["Arn"] and ":function:" in t["Arn"]]
    others = [t for t in self.targets if t not in functions]
    if others:  # moto's own delivery, which refuses (NotImplementedError) a Lambda target
        rule = copy.copy(self)
        rule.targets = others
        _original_send_to_targets(rule, original_event, transform_input)  # type: ignore[arg-type]
    delivery = _lambda_delivery
    if delivery is None or not functions or not self.event_pattern.matches_event(original_event):
        return
    for target in functions:
        delivery(self.arn, target, dict(original_event))


def _math_random_end_exclusive(self: Any, env: Any) -> None:
    self.argument_list.eval(env=env)
    args = env.stack.pop()
    seed = args.pop() if self.argument_list.size == 3 else None
    end = self._validate_integer_value(args.pop(), "end")
    start = self._validate_integer_value(args.pop(), "start")
    if end <= start:
        raise ValueError(f"States.MathRandom needs start < end, got {start} and {end}")
    env.stack.append(random.Random(seed).randrange(start, end))


_original_parse = asl_parser.AmazonStateLanguageParser.parse
_original_client_for = boto_client.boto_client_for
_parse_lock = threading.Lock()


@lru_cache(maxsize=64)
def _parse_tree(definition: str) -> Any:
    with _parse_lock:  # ANTLR's shared caches are not safe for concurrent first parses
        return _original_parse(definition)[1]


def _parse_cached(definition: str) -> tuple[Any, Any]:
    tree = _parse_tree(definition)
    return asl_parser.Preprocessor().visit(tree), tree  # type: ignore[attr-defined]  # moto imports it there


# Who the interpreter's service calls sign as: moto signs them as "ak"/"sk"; on AWS a state machine's
# tasks run as its role. Local mode sets the role's credentials here (see local/iam/policies.py).
_interpreter_credentials: dict[str, str] = {}


def sign_interpreter_calls_as(access_key: str, secret_key: str, session_token: str) -> None:
    _interpreter_credentials.update(
        {"aws_access_key_id": access_key, "aws_secret_access_key": secret_key, "aws_session_token": session_token}
    )
    _cached_client.cache_clear()


@lru_cache(maxsize=64)
def _cached_client(region: str, service: str) -> Any:
    client = _original_client_for(region=region, service=service)
    if not _interpreter_credentials:
        return client
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=client.meta.endpoint_url,
        config=client.meta.config,
        **_interpreter_credentials,
    )


def _client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    # moto's own function ignores `state_credentials` (a task's cross-account role), and every
    # lambda:invoke task passes one: caching by (region, service) alone loses nothing.
    return _cached_client(region, service)


class CachingDispatcher(DomainDispatcherApplication):
    """moto's WSGI dispatcher, remembering which backend app serves a SigV4-signed service and region."""

    def __init__(self, create_app: Callable[..., Any]) -> None:
        super().__init__(create_app)
        self._apps: dict[tuple[str, str, str], object] = {}

    def get_application(self, environ: dict[str, Any]) -> Any:
        scope = re.search(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
        if scope is None or environ.get("PATH_INFO", "").startswith("/moto-api"):
            return super().get_application(environ)
        key = (scope.group(1), scope.group(2), environ.get("HTTP_X_AMZ_TARGET", "").split(".", 1)[0])
        app = self._apps.get(key)
        if app is None:
            app = self._apps[key] = super().get_application(environ)
        return app


def prune_finished_executions(keep_seconds: float = 60.0) -> int:
    """Forget executions that ended more than `keep_seconds` ago and their finished threads."""
    # With execute_state_machine, moto keeps state machines in the parser's backends.
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    cutoff = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=keep_seconds)
    pruned = 0
    for account in list(stepfunctions_parser_backends.values()):
        for backend in list(account.values()):
            for machine in list(backend.state_machines):
                kept = []
                for execution in list(machine.executions):
                    stopped = getattr(execution, "exec_status", None) not in (None, "RUNNING") and getattr(
                        execution, "stop_date", None
                    )
                    if stopped and _as_utc(execution.stop_date) < cutoff:
                        pruned += 1
                    else:
                        kept.append(execution)
                machine.executions[:] = kept
    parser_utils.TMP_THREADS[:] = [t for t in parser_utils.TMP_THREADS if t.is_alive()]
    return pruned


def ended_executions() -> list[tuple[str, str, str]]:
    """(state machine ARN, execution ARN, status: SUCCEEDED, FAILED, TIMED_OUT or ABORTED) of every
    execution moto still holds that has ended (local/aws/cloudwatch.py counts them)."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    ended = []
    for account in list(stepfunctions_parser_backends.values()):
        for backend in list(account.values()):
            for machine in list(backend.state_machines):
                for execution in list(machine.executions):
                    status = getattr(execution, "exec_status", None)
                    if status is not None and str(getattr(status, "value", status)) != "RUNNING":
                        ended.append((machine.arn, execution.execution_arn, str(getattr(status, "value", status))))
    return ended


def _as_utc(moment: Any) -> datetime.datetime:
    if isinstance(moment, (int, float)):
        return datetime.datetime.fromtimestamp(moment, datetime.UTC)
    found: datetime.datetime = moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)
    return found


def _untracked_new(cls: type, *args: Any, **kwargs: Any) -> Any:
    return object.__new__(cls)


def forget_model_instances() -> None:
    """moto's models stop recording every instance of theirs (which only moto's dashboard reads)."""
    common_models.BaseModel.__new__ = _untracked_new  # type: ignore[method-assign]


def apply() -> None:
    """Idempotent: safe to call from every entry point and test fixture."""
    global _applied
    if _applied:
        return
    forget_model_instances()
    default_user_config["stepfunctions"]["execute_state_machine"] = True
    math_random.MathRandom._eval_body = _math_random_end_exclusive  # type: ignore[method-assign]
    asl_parser.AmazonStateLanguageParser.parse = staticmethod(_parse_cached)  # type: ignore[method-assign]
    # Every module of the interpreter that imported moto's function by name (lambda, sqs, dynamodb...).
    for value in [boto_client, lambda_eval_utils, *vars(state_task_service_factory).values()]:
        module = sys.modules.get(getattr(value, "__module__", ""), value)
        if getattr(module, "boto_client_for", None) is _original_client_for:
            module.boto_client_for = _client_for
    events_models.Rule.send_to_targets = _send_to_targets  # type: ignore[method-assign,assignment]
    json_path.parse = lru_cache(maxsize=1024)(jsonpath_ext_parse)  # type: ignore[attr-defined]
    result_path.parse = lru_cache(maxsize=1024)(jsonpath_parse)  # type: ignore[attr-defined]
    _applied = True
