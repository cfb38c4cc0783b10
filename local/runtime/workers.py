"""Runs the project's Lambda handlers locally, like the Lambda service does: each function in its own
worker processes, with exactly the environment the template gives it, its code from the synthesized
asset, and a context object. No Docker.

A worker serves one invocation at a time (as a Lambda execution environment does); each function
gets a small pool of them, started on first use and reused afterwards (warm starts).
"""

from __future__ import annotations

import importlib
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from types import FrameType
from typing import Any

from local.iam.policies import LocalIam
from local.template.specs import FunctionSpec

# Variables of the machine a worker keeps; everything else comes from the template and local mode.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "SYSTEMROOT", "TMPDIR", "PYTHONHASHSEED")


@dataclass
class Invocation:
    """A handler's result: `payload` (JSON-able) or `error` ({errorType, errorMessage, stackTrace})."""

    payload: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0  # the handler's own run time, as Lambda measures it


@dataclass
class FunctionUsage:
    """What the Lambda service would bill a function for: invocations and duration rounded up to 1 ms."""

    invocations: int = 0
    billed_ms: int = 0


class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    def __init__(self, name: str, arn: str, memory_mb: int, deadline: float) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


# -- inside a worker process -------------------------------------------------------------------

_handler: Callable[[Any, Any], Any] | None = None
_import_failure: dict[str, str] | None = None  # why the handler could not be imported, as Lambda reports it
EMF_LINE = '{"_aws":'  # how a CloudWatch Embedded Metric Format line starts


class _WithoutMetrics:
    """A worker's stdout without the handlers' metric lines: on AWS, CloudWatch takes EMF lines out of
    the logs as metrics. Here they go to `metrics` (local mode's CloudWatch reads them, for the
    alarms), not to the console they would fill. (Disabling Powertools' metrics instead keeps them in
    memory: it then prints every hundredth value anyway.)"""

    def __init__(self, stream: Any, metrics: Any = None) -> None:
        self._stream = stream
        self._metrics = metrics
        self._line = ""

    def write(self, text: str) -> int:
        self._line += text
        while "\n" in self._line:
            line, self._line = self._line.split("\n", 1)
            if not line.startswith(EMF_LINE):
                self._stream.write(line + "\n")
            elif self._metrics is not None:
                self._metrics.put(line)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _worker_init(code_dir: str, handler: str, environment: dict[str, str], metrics: Any = None) -> None:
    """`metrics`: a queue to the runtime for the handler's metric lines (None: dropped)."""
    global _handler, _import_failure
    sys.stdout = _WithoutMetrics(sys.stdout, metrics)
    os.environ.clear()
    os.environ.update(environment)
    sys.path.insert(0, code_dir)
    module_name, function_name = handler.rsplit(".", 1)
    try:
        _handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as error:  # as Lambda: every invocation then fails with Runtime.ImportModuleError
        _import_failure = import_failure(error, module_name, code_dir)
        print(_import_failure["traceback"], file=sys.stderr, end="", flush=True)


def import_failure(error: BaseException, module: str, code_dir: str) -> dict[str, str]:
    """Why `module` could not be imported, with the files named as in the project (`lambdas/...`), not
    as in the copy the worker runs (a reload's build in a temporary directory, or cdk.out's asset)."""
    prefix = code_dir.rstrip("/") + "/"
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith(prefix)]
    if isinstance(error, SyntaxError) and error.filename and error.filename.startswith(prefix):
        where = f"lambdas/{error.filename.removeprefix(prefix)}:{error.lineno}"
    else:
        where = f"lambdas/{frames[-1].filename.removeprefix(prefix)}:{frames[-1].lineno}" if frames else module
    return {
        "errorType": "Runtime.ImportModuleError",
        "errorMessage": f"Unable to import module '{module}': {type(error).__name__}: {error}".replace(prefix, "lambdas/"),
        "where": where,
        "traceback": "".join(traceback.format_exception(error)).replace(prefix, "lambdas/"),
    }


def _import_failure_of_worker() -> dict[str, str] | None:
    return _import_failure


class _Timeout(Exception):
    pass


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise _Timeout()


def _worker_invoke(event: Any, name: str, arn: str, memory_mb: int, timeout_seconds: int) -> tuple[str, Any, float]:
    """(status, payload or error, the handler's own run time in ms: what Lambda bills)."""
    # The function's timeout runs from when this environment starts the invocation, as on Lambda
    # (time queued for a free worker does not count).
    started = time.perf_counter()
    deadline = time.time() + timeout_seconds
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout_seconds)
    try:
        if _import_failure is not None:
            return "error", {k: v for k, v in _import_failure.items() if k in ("errorType", "errorMessage")}, 0.0
        assert _handler is not None, "the worker was not initialised"
        status, value = "ok", _handler(event, LambdaContext(name, arn, memory_mb, deadline))
    except _Timeout:
        status, value = (
            "error",
            {"errorType": "Sandbox.Timedout", "errorMessage": f"Task timed out after {timeout_seconds:.2f} seconds"},
        )
    except Exception as error:  # the Lambda service reports any exception as a function error
        status, value = (
            "error",
            {
                "errorType": type(error).__name__,
                "errorMessage": str(error),
                "stackTrace": traceback.format_exception(error),
            },
        )
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return status, value, (time.perf_counter() - started) * 1000


# -- in local mode's process -------------------------------------------------------------------


class ReloadFailed(Exception):
    """New code could not be loaded; the old workers keep serving."""


class ImportFailed(Exception):
    """A function's handler could not be imported (named as `lambdas/<file>:<line>: why`)."""


class LambdaRuntime:
    def __init__(
        self,
        functions: dict[str, FunctionSpec],
        *,
        aws_environment: dict[str, str],
        value_rewrites: dict[str, str] | None = None,
        env_overrides: dict[str, str] | None = None,
        workers_per_function: int = 4,
        iam: LocalIam | None = None,
    ) -> None:
        """`aws_environment`: credentials, region and AWS_ENDPOINT_URL_* for every worker.
        `value_rewrites`: template values replaced by local ones (the management API URL).
        `env_overrides`: variables replaced where a function already has them (e.g. delays).
        `iam`: each function signs its AWS calls as its own execution role (else as local mode's admin).
        Set `observer` to be told of every invocation (function, Invocation), and `on_metric_line` to
        get the handlers' metric lines (EMF), as CloudWatch gets them on AWS."""
        self.functions = functions
        self._by_name = {key: spec for spec in functions.values() for key in (spec.name, spec.arn, spec.logical_id)}
        self._aws_environment = aws_environment
        self._rewrites = value_rewrites or {}
        self._overrides = env_overrides or {}
        self._workers = workers_per_function
        self.iam = iam
        self._pools: dict[str, ProcessPoolExecutor] = {}
        self._pools_lock = threading.Lock()  # a reload swaps pools while invocations are submitted
        self._context = multiprocessing.get_context("spawn")
        self.usage: dict[str, FunctionUsage] = {}  # by logical id
        self._usage_lock = threading.Lock()
        self.observer: Callable[[FunctionSpec, Invocation], None] | None = None
        self.on_metric_line: Callable[[str], None] | None = None
        self._metric_lines = self._context.SimpleQueue()
        threading.Thread(target=self._read_metric_lines, name="metric-lines", daemon=True).start()

    def spec(self, name_or_arn: str) -> FunctionSpec:
        key = (
            name_or_arn.rsplit(":function:", maxsplit=1)[-1].split(":", maxsplit=1)[0]
            if ":function:" in name_or_arn
            else name_or_arn
        )
        return self._by_name[key]

    def environment_of(self, spec: FunctionSpec) -> dict[str, str]:
        env = {k: os.environ[k] for k in _INHERITED if k in os.environ}
        env.update(self._aws_environment)
        if self.iam is not None and spec.role:
            env.update(self.iam.credentials(spec.role, spec.name).environment())
        for key, value in spec.environment.items():
            env[key] = self._overrides.get(key, self._rewrites.get(value, value))
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        return env

    def _new_pool(self, spec: FunctionSpec) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=self._context,
            initializer=_worker_init,
            initargs=(str(spec.code_dir), spec.handler, self.environment_of(spec), self._metric_lines),
        )

    def _read_metric_lines(self) -> None:
        while True:
            line = self._metric_lines.get()
            if line is None:
                return
            handle = self.on_metric_line
            if handle is not None:
                handle(line)

    def _pool(self, spec: FunctionSpec) -> ProcessPoolExecutor:
        pool = self._pools.get(spec.logical_id)
        if pool is None:
            pool = self._pools[spec.logical_id] = self._new_pool(spec)
        return pool

    def invoke(self, name_or_arn: str, event: Any) -> Invocation:
        with self._pools_lock:
            spec = self.spec(name_or_arn)
            future = self._pool(spec).submit(_worker_invoke, event, spec.name, spec.arn, spec.memory_mb, spec.timeout_seconds)
        status, value, duration_ms = future.result()
        with self._usage_lock:
            usage = self.usage.setdefault(spec.logical_id, FunctionUsage())
            usage.invocations += 1
            usage.billed_ms += math.ceil(duration_ms)
        invocation = (
            Invocation(payload=value, duration_ms=duration_ms)
            if status == "ok"
            else Invocation(error=value, duration_ms=duration_ms)
        )
        if self.observer is not None:
            self.observer(spec, invocation)
        return invocation

    def warm_up(self) -> None:
        """Start a worker of every function now (importing its handler) rather than on the first request.
        A handler that cannot be imported is said now (ImportFailed), not at its first request."""
        for spec in self.functions.values():
            failure = self._pool(spec).submit(_import_failure_of_worker).result()
            if failure is not None:
                raise ImportFailed(f"{spec.logical_id}: {failure['where']}: {failure['errorMessage']}")

    def replace(self, specs: list[FunctionSpec]) -> None:
        """Serve these functions (new or changed: code, handler, environment) from new workers. The new
        workers start and import their handler first; if one cannot, nothing changes (ReloadFailed).
        Invocations already running finish on the old workers, which then exit."""
        fresh = {spec.logical_id: self._new_pool(spec) for spec in specs}
        try:
            for pool in fresh.values():
                failure = pool.submit(_import_failure_of_worker).result(timeout=120)
                if failure is not None:
                    raise ImportFailed(f"{failure['where']}: {failure['errorMessage']}")
        except Exception as error:
            for pool in fresh.values():
                pool.shutdown(wait=False, cancel_futures=True)
            if isinstance(error, ImportFailed):
                raise ReloadFailed(str(error)) from None
            raise ReloadFailed(f"a new worker could not start: {type(error).__name__}: {error}") from None
        with self._pools_lock:
            retired = [self._pools[key] for key in fresh if key in self._pools]
            self._pools.update(fresh)
            self.functions.update({spec.logical_id: spec for spec in specs})
            self._by_name = {key: spec for spec in self.functions.values() for key in (spec.name, spec.arn, spec.logical_id)}
        for pool in retired:
            threading.Thread(target=pool.shutdown, kwargs={"wait": True}, name="retire-workers", daemon=True).start()

    def close(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
        self._pools.clear()
        self._metric_lines.put(None)
