"""Each function's environment in the synthesized template holds exactly the variables its handler
reads (its `SETTINGS` groups, order_tracking/runtime/settings.py), and a handler whose environment lacks one,
or holds a malformed one, fails its first invocation naming the variable."""

from __future__ import annotations

import importlib
import os

import pytest
from order_tracking.runtime import settings
from order_tracking.runtime.settings import SettingsError

# Read by Powertools itself (the stack sets them for every function), not by our settings groups.
POWERTOOLS = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_METRICS_NAMESPACE"}


class RecordingEnviron(dict):
    """os.environ for one handler: the template's variables, remembering which ones were read."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


def functions(stack):
    return sorted(stack.functions().values(), key=lambda spec: spec.handler)


def handler_settings(spec) -> tuple:
    return importlib.import_module(spec.handler.rsplit(".", 1)[0]).SETTINGS


def read_by(spec, environment: dict[str, str], monkeypatch) -> set[str]:
    """The variables the handler's settings groups read from `environment` (imported first: what the
    libraries read at import is theirs, not ours)."""
    groups = handler_settings(spec)
    recording = RecordingEnviron(environment)
    monkeypatch.setattr(os, "environ", recording)
    settings.reset()
    try:
        settings.load_all(groups)
    finally:
        settings.reset()
    return recording.read


def test_every_function_gets_exactly_what_its_handler_reads(stack, monkeypatch):
    checked = []
    for spec in functions(stack):
        ours = set(spec.environment) - POWERTOOLS
        read = read_by(spec, spec.environment, monkeypatch)
        read -= {"OIDC_ISSUER"}  # read to learn that it is unset (HS256 tokens)
        assert read == ours, f"{spec.handler}: the template sets {sorted(ours)}, the handler reads {sorted(read)}"
        assert POWERTOOLS <= set(spec.environment), spec.handler
        checked.append(spec.handler.split(".")[1])
    assert checked == ["authorize", "connect", "default", "disconnect", "emit", "ping", "publish", "track_order"]


def test_a_missing_variable_fails_naming_it(stack, monkeypatch):
    for spec in functions(stack):
        for name in sorted(set(spec.environment) - POWERTOOLS):
            environment = {k: v for k, v in spec.environment.items() if k != name}
            with pytest.raises(SettingsError, match=name):
                read_by(spec, environment, monkeypatch)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RETENTION_SECONDS", "24h"),
        ("RETENTION_SECONDS", "59"),
        ("MIN_DELAY_SECONDS", "-1"),
        ("MAX_DELAY_SECONDS", "1"),
        ("CONNECTIONS_ENDPOINT", "wss//x"),
    ],
)
def test_a_malformed_variable_fails_naming_it(stack, monkeypatch, name, value):
    (spec,) = [s for s in functions(stack) if s.handler == "handlers.track_order.handler"]
    with pytest.raises(SettingsError, match=name):
        read_by(spec, {**spec.environment, name: value}, monkeypatch)


def test_values_local_mode_and_the_benchmarks_set_are_accepted(stack, monkeypatch):
    (spec,) = [s for s in functions(stack) if s.handler == "handlers.connect.handler"]
    read_by(spec, {**spec.environment, "MAX_CONNECTIONS_PER_CUSTOMER": "1000000"}, monkeypatch)  # bench: no cap
    with pytest.raises(SettingsError, match="MAX_CONNECTIONS_PER_CUSTOMER"):
        read_by(spec, {**spec.environment, "MAX_CONNECTIONS_PER_CUSTOMER": "0"}, monkeypatch)
