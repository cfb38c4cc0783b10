"""`make dev` follows your edits: handlers, the stack and the client reload while WebSocket connections
stay open and moto keeps its state (connections, trackings, executions in flight).

- `lambdas/`: the affected functions get new workers running the saved code (a copy of their asset
  with `lambdas/` over it). An invocation already running finishes on the old code. A file that does
  not compile, or a handler whose new workers cannot import it, is reported once with the file and
  line, and the old workers keep serving until it is fixed.
- `infra/`, `app.py`, `cdk.json`: the app is synthesized again in the background; what changed is
  applied live where AWS would update it in place — functions (code, handler, environment), routes,
  the state machine definition (executions in flight finish on the old one, as on AWS), new tables
  and queues, IAM policies. What cannot be applied live (a table's keys or indexes, a removed
  resource) is named, with what a restart would lose. A synth that fails keeps the running stack.
- `client/`: the static server reads files as saved; reloading the page is enough.

Bursts of saves are debounced by watchfiles; editor temp files, caches and `cdk.out` are ignored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from watchfiles import Change, DefaultFilter, awatch

from local.aws.eventbridge import create_buses_and_rules
from local.aws.services import create_table
from local.iam.resource_policies import LambdaPermissions
from local.runtime.workers import ReloadFailed
from local.template.specs import FunctionSpec
from local.template.stack import SynthesizedStack
from local.template.synth import ensure_synth

if TYPE_CHECKING:
    from local.aws.cloudwatch import LocalCloudWatch
    from local.aws.eventbridge import EventDelivery
    from local.aws.services import LocalAws
    from local.cli.options import Override
    from local.console.lines import Console
    from local.gateway.websocket import WebSocketGateway
    from local.iam.policies import LocalIam
    from local.runtime.workers import LambdaRuntime


class LocalMode(Protocol):
    """What the reloader changes of a running local mode (cli/run.py's LocalMode)."""

    console: Console
    stack: SynthesizedStack
    runtime: LambdaRuntime
    aws: LocalAws
    gateway: WebSocketGateway
    events: EventDelivery
    cloudwatch: LocalCloudWatch

    @property
    def iam(self) -> LocalIam | None: ...

    def overrides(self) -> dict[str, Override]: ...


WATCHED = ("lambdas", "infra", "app.py", "cdk.json", "client")
STACK_SOURCES = ("infra", "app.py", "cdk.json")
DEBOUNCE_MS = 300
TEMP_SUFFIXES = (".swp", ".swx", ".swo", ".tmp", "~", ".bak", ".orig", "___jb_tmp___", "___jb_old___")
# Files that exist only while an editor or tool saves: vim's probe file, `sed -i`'s sedXXXXXX.
TEMP_NAMES = re.compile(r"^(4913|sed[A-Za-z0-9]{6})$")


class SourceFilter(DefaultFilter):
    """watchfiles' default ignores (.git, __pycache__, ...) plus editor temp files and lock files."""

    def __call__(self, change: Change, path: str) -> bool:
        name = Path(path).name
        if name.startswith((".#", "#")) or name.endswith(TEMP_SUFFIXES) or TEMP_NAMES.match(name):
            return False
        return super().__call__(change, path)


class Reloader:
    def __init__(self, mode: LocalMode, root: Path) -> None:
        self.mode = mode
        self.root = root
        self.console = mode.console
        self._last_error: str | None = None
        self._generation = 0
        self._builds = Path(tempfile.mkdtemp(prefix="order-tracking-reload-"))
        self._previously_used: set[Path] = set()

    async def run(self, stop: asyncio.Event) -> None:
        paths = [self.root / name for name in WATCHED if (self.root / name).exists()]
        async for changes in awatch(*paths, watch_filter=SourceFilter(), debounce=DEBOUNCE_MS, stop_event=stop):
            changed = sorted({Path(path).relative_to(self.root) for _, path in changes})
            try:
                await asyncio.to_thread(self.apply, changed)
            except Exception as error:  # a reload must never take local mode down
                self.console.log("ERROR", f"reload failed: {type(error).__name__}: {error}")

    def close(self) -> None:
        shutil.rmtree(self._builds, ignore_errors=True)

    def apply(self, changed: list[Path]) -> None:
        started = time.monotonic()
        names = ", ".join(str(p) for p in changed[:4]) + (f" and {len(changed) - 4} more" if len(changed) > 4 else "")
        if any(p.parts[0] in STACK_SOURCES for p in changed):
            summary = self.reload_stack()
        elif any(p.parts[0] == "lambdas" for p in changed):
            summary = self.reload_handlers(changed)
        else:
            summary = "served as saved: reload the page"
        if summary is not None:
            self.console.log("RELOAD", f"{names}: {summary} ({(time.monotonic() - started) * 1000:.0f} ms)")
            self._prune()

    def _prune(self) -> None:
        """Delete the builds no worker runs any more (those of the reload before stay: their workers
        may still be finishing an invocation)."""
        in_use = {self._build_of(spec.code_dir) for spec in self.mode.runtime.functions.values()}
        in_use.add(self._build_of(self.mode.stack.cdk_out))
        for build in self._builds.iterdir():
            if build not in in_use and build not in self._previously_used:
                shutil.rmtree(build, ignore_errors=True)
        self._previously_used = in_use

    def _build_of(self, path: Path) -> Path:
        """The build under the reload dir that holds `path` (itself when it is not one of ours)."""
        try:
            return self._builds / path.relative_to(self._builds).parts[0]
        except ValueError:
            return path

    # -- handlers ----------------------------------------------------------------------------------

    def reload_handlers(self, changed: list[Path]) -> str | None:
        error = _compile_errors(self.root, [p for p in changed if p.suffix == ".py" and p.parts[0] == "lambdas"])
        if error is not None:
            self._refuse(error)
            return None
        affected = self._affected(changed)
        self._generation += 1
        specs = [dataclasses.replace(spec, code_dir=self._code_with_sources(spec)) for spec in affected]
        try:
            self.mode.runtime.replace(specs)
        except ReloadFailed as failed:
            self._refuse(f"{failed} (the traceback is above)")
            return None
        self._last_error = None
        return f"new workers for {', '.join(sorted(_short(spec) for spec in affected))}"

    def _affected(self, changed: list[Path]) -> list[FunctionSpec]:
        """The functions whose handler module changed; every function when shared code changed."""
        functions = list(self.mode.runtime.functions.values())
        modules = {".".join(p.with_suffix("").parts[1:]) for p in changed if p.parts[0] == "lambdas"}
        if modules and all(module.startswith("handlers.") for module in modules):
            return [f for f in functions if f.handler.rsplit(".", 1)[0] in modules]
        return functions

    def _code_with_sources(self, spec: FunctionSpec) -> Path:
        """A copy of the function's asset (bundled packages included) with the saved `lambdas/` over it."""
        target = self._builds / f"{self._generation}-{spec.logical_id}"
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(spec.code_dir, target, ignore=ignore)
        shutil.copytree(self.root / "lambdas", target, dirs_exist_ok=True, ignore=ignore)
        return target

    def _refuse(self, error: str) -> None:
        if error != self._last_error:  # said once, not on every save until it is fixed
            self.console.log("ERROR", f"not reloaded, the running code keeps serving: {error}")
        self._last_error = error

    # -- the stack ---------------------------------------------------------------------------------

    def reload_stack(self) -> str | None:
        self._generation += 1
        out = self._builds / f"cdk.out-{self._generation}"
        try:
            ensure_synth(out, force=True, capture=True)
        except subprocess.CalledProcessError as failed:
            tail = (failed.stderr or "").strip().splitlines()[-6:]
            self._refuse("the synth failed:\n    " + "\n    ".join(tail))
            return None
        new = SynthesizedStack.load(out)
        old = self.mode.stack
        needs_restart = restart_reasons(old, new)
        applied = self._apply_stack(old, new)
        self.mode.stack = new
        self._last_error = None
        if needs_restart:
            self.console.log(
                "WARNING",
                "not applied live, needs a restart (which loses every connection, tracking and execution): "
                + "; ".join(needs_restart),
            )
        summary = "applied: " + (", ".join(applied) if applied else "nothing that local mode runs changed")
        overridden = overridden_changes(old, new, self.mode.overrides())
        return summary + "".join(f"; {note}" for note in overridden)

    def _apply_stack(self, old: SynthesizedStack, new: SynthesizedStack) -> list[str]:
        mode = self.mode
        applied: list[str] = []
        if mode.iam is not None:
            mode.iam.update_roles(new)
            mode.iam.mint_for_functions(new)
            if mode.aws.dynamodb is not None:
                mode.aws.dynamodb.update_iam(mode.iam)
        dynamodb = mode.aws.client("dynamodb")
        old_tables = {t.name for t in old.tables()}
        for table in new.tables():
            if table.name not in old_tables:
                create_table(dynamodb, table)
                applied.append(f"table {table.name} created")
        old_queues = set(old.queues())
        for name in new.queues():
            if name not in old_queues:
                mode.aws.client("sqs").create_queue(QueueName=name)
                applied.append(f"queue {name} created")
        old_machines = {m.arn: m for m in old.state_machines()}
        for machine in new.state_machines():
            before = old_machines.get(machine.arn)
            if before is not None and before.definition != machine.definition:
                mode.aws.client("stepfunctions").update_state_machine(
                    stateMachineArn=machine.arn, definition=machine.definition, roleArn=machine.role_arn
                )
                applied.append(f"state machine {machine.name} (running executions finish on the old definition)")
        old_functions = old.functions()
        flags = set(mode.overrides())
        changed = [spec for key, spec in new.functions().items() if _function_changed(old_functions.get(key), spec, flags)]
        if changed:
            mode.runtime.replace(changed)
            applied.append("functions " + ", ".join(sorted(_short(spec) for spec in changed)))
        if new.websocket_api() != old.websocket_api():
            mode.gateway.api = new.websocket_api()
            applied.append("routes")
        if (new.event_buses(), new.rules()) != (old.event_buses(), old.rules()):
            create_buses_and_rules(mode.aws.client("events"), new)
            applied.append("event buses and rules")
        mode.events.update(new)
        mode.cloudwatch.update(new)
        mode.gateway.permissions = LambdaPermissions(new.permissions())
        return applied


def restart_reasons(old: SynthesizedStack, new: SynthesizedStack) -> list[str]:
    """What changed that local mode cannot apply while running (AWS would replace these resources)."""
    reasons = []
    new_tables = {t.name: t for t in new.tables()}
    for table in old.tables():
        now = new_tables.get(table.name)
        if now is None:
            reasons.append(f"table {table.name} removed (its items)")
        elif (now.key_schema, now.global_secondary_indexes, now.ttl_attribute) != (
            table.key_schema,
            table.global_secondary_indexes,
            table.ttl_attribute,
        ):
            reasons.append(f"table {table.name}'s keys, indexes or TTL changed (its items)")
    new_functions = new.functions()
    reasons += [f"function {_short(spec)} removed" for key, spec in old.functions().items() if key not in new_functions]
    new_machines = {m.arn for m in new.state_machines()}
    reasons += [f"state machine {m.name} removed" for m in old.state_machines() if m.arn not in new_machines]
    new_rules = {r.arn for r in new.rules()}
    reasons += [f"event rule {r.name} removed" for r in old.rules() if r.arn not in new_rules]
    if new.websocket_api().stage_name != old.websocket_api().stage_name:
        reasons.append("the stage's name changed (every open connection)")
    return reasons


def overridden_changes(old: SynthesizedStack, new: SynthesizedStack, overrides: Mapping[str, Override]) -> list[str]:
    """What changed in the stack but does not apply, because a command-line flag overrides it."""
    notes: dict[str, str] = {}
    old_functions = old.functions()
    for key, spec in new.functions().items():
        before = old_functions.get(key)
        for name, override in overrides.items():
            now = spec.environment.get(name)
            if before is not None and now is not None and before.environment.get(name) != now and now != override.value:
                notes[name] = f"{override.flag} still overrides {name} (now {now} in the stack)"
    return list(notes.values())


def _function_changed(old: FunctionSpec | None, new: FunctionSpec, overridden: set[str]) -> bool:
    """Whether the function runs differently now: its code, handler, settings, role, or an environment
    variable that no command-line flag overrides."""
    if old is None:
        return True
    fields = ("handler", "timeout_seconds", "memory_mb", "role")

    def environment(spec: FunctionSpec) -> dict[str, str]:
        return {name: value for name, value in spec.environment.items() if name not in overridden}

    return (
        any(getattr(old, name) != getattr(new, name) for name in fields)
        or environment(old) != environment(new)
        or _tree(old.code_dir) != _tree(new.code_dir)
    )


def _tree(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in directory.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def _compile_errors(root: Path, files: Iterable[Path]) -> str | None:
    """The first file that does not compile, as `path:line: message`; None when all do."""
    for relative in files:
        path = root / relative
        if not path.exists():
            continue
        try:
            compile(path.read_bytes(), str(relative), "exec", dont_inherit=True)
        except SyntaxError as error:
            return f"{relative}:{error.lineno}: {type(error).__name__}: {error.msg}"
        except ValueError as error:  # e.g. a NUL byte
            return f"{relative}: {error}"
    return None


def _short(spec: FunctionSpec) -> str:
    return spec.handler.rsplit(".", 2)[-2]
