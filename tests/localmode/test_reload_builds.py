"""make dev's reload keeps only the builds workers may still run: those of the functions now, and those
of the reload before (their workers may be finishing an invocation); older ones are deleted."""

from __future__ import annotations

import types
from pathlib import Path

from local.cli.reload import Reloader
from local.console.lines import Console


def test_builds_no_worker_runs_any_more_are_deleted(tmp_path):
    functions: dict[str, types.SimpleNamespace] = {}
    mode = types.SimpleNamespace(
        console=Console(quiet=True),
        runtime=types.SimpleNamespace(functions=functions),
        stack=types.SimpleNamespace(cdk_out=tmp_path / "cdk.out"),
    )
    reloader = Reloader(mode, tmp_path)
    try:

        def build(name: str) -> Path:
            path = reloader._builds / name
            (path / "handlers").mkdir(parents=True)
            return path

        first_emit, first_ping = build("1-Emit"), build("1-Ping")
        functions.update(emit=types.SimpleNamespace(code_dir=first_emit), ping=types.SimpleNamespace(code_dir=first_ping))
        reloader._prune()
        second_emit = build("2-Emit")  # emit reloaded; ping still runs its first build
        functions["emit"] = types.SimpleNamespace(code_dir=second_emit)
        reloader._prune()
        assert {p.name for p in reloader._builds.iterdir()} == {"1-Emit", "1-Ping", "2-Emit"}  # 1-Emit may be draining
        third_emit = build("3-Emit")
        functions["emit"] = types.SimpleNamespace(code_dir=third_emit)
        reloader._prune()
        assert {p.name for p in reloader._builds.iterdir()} == {"1-Ping", "2-Emit", "3-Emit"}
    finally:
        reloader.close()
    assert not reloader._builds.exists()
