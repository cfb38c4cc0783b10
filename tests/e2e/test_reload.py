"""`make dev` follows edits (local/cli/reload.py), over real sockets, on a copy of the project in a temp dir:
a handler edit reaches the next frame while the client stays connected, with nothing lost or
repeated; a broken edit keeps the old code serving; a stack edit reaches the next invocation; a
client edit is served."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import websockets

from local.cli.launcher import LocalModeProcess
from local.cli.tokens import local_signing_secret, mint, with_token
from local.template.synth import ROOT
from tests.support.aio import run

pytestmark = pytest.mark.e2e

DELAY = 2
COPY_IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "cdk.out", "test-artifacts", "__pycache__", ".*_cache", ".hypothesis", "results", ".local"
)


@pytest.fixture(scope="module")
def project(cdk_out, tmp_path_factory) -> Path:
    """The repository as a developer has it, cdk.out included (copied with its times: no re-synth)."""
    copy = tmp_path_factory.mktemp("project") / "order-tracking"
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORED)
    shutil.copytree(cdk_out, copy / "cdk.out")
    return copy


@pytest.fixture(scope="module")
def dev(project):
    process = LocalModeProcess("--min-delay", str(DELAY), "--max-delay", str(DELAY), watch=True, root=project).start()
    yield process
    process.stop()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def wait_for_line(dev: LocalModeProcess, pattern: str, after: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in dev.lines[after:]:
            if re.search(pattern, line):
                return line
        time.sleep(0.1)
    raise AssertionError(f"no console line matching {pattern!r}; last lines:\n" + "\n".join(dev.lines[-15:]))


async def frames_until(ws, count: int, timeout: float) -> list[dict]:
    frames: list[dict] = []
    async with asyncio.timeout(timeout):
        while len(frames) < count:
            frame = json.loads(await ws.recv())
            if "seq" in frame:
                frames.append(frame)
    return frames


def test_a_handler_edit_reaches_the_next_frame_and_the_connection_stays_open(dev, project):
    emit = project / "lambdas" / "handlers" / "emit.py"
    original = emit.read_text()

    async def scenario() -> list[dict]:
        async with websockets.connect(dev.ws_url) as ws:
            await ws.send(json.dumps({"type": "track_order", "orderId": "ZX-1001"}))
            first = await frames_until(ws, 1, 10)
            mark = len(dev.lines)
            edit(
                emit,
                "    settings.load_all(SETTINGS)\n",
                '    settings.load_all(SETTINGS)\n    event["event"]["label"] += " (edited)"\n',
            )
            line = await asyncio.to_thread(wait_for_line, dev, r"RELOAD .*handlers/emit\.py: new workers for emit", mark, 10)
            rest = await frames_until(ws, 3, 20)
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await ws.recv())["type"] == "pong"  # the same connection, still open
            assert int(re.search(r"\((\d+) ms\)", line).group(1)) < 5000
            return first + rest

    try:
        frames = run(scenario())
    finally:
        emit.write_text(original)
    assert [f["seq"] for f in frames] == [1, 2, 3, 4]  # nothing lost, nothing twice
    assert not frames[0]["label"].endswith("(edited)")  # sent before the edit
    assert frames[-1]["label"] == "Delivered (edited)"  # emitted by the new code


def test_a_broken_edit_is_reported_once_and_the_old_code_keeps_serving(dev, project):
    ping = project / "lambdas" / "handlers" / "ping.py"
    original = ping.read_text()
    mark = len(dev.lines)
    try:
        ping.write_text(original + "\ndef broken(:\n")
        wait_for_line(dev, r"ERROR .*not reloaded.*lambdas/handlers/ping\.py:\d+: SyntaxError", mark, 10)
        ping.write_text(original + "\ndef broken(:\n    pass\n")  # saved again, still broken
        time.sleep(2)
        reported = [line for line in dev.lines[mark:] if "not reloaded" in line]
        assert len(reported) == 1, reported

        async def ping_once() -> dict:
            async with websockets.connect(dev.ws_url) as ws:
                await ws.send(json.dumps({"type": "ping"}))
                return json.loads(await asyncio.wait_for(ws.recv(), 10))

        assert run(ping_once())["type"] == "pong"
    finally:
        fixed = len(dev.lines)
        ping.write_text(original)
    wait_for_line(dev, r"RELOAD .*handlers/ping\.py: new workers for ping", fixed, 10)


def test_a_sed_edit_names_the_project_file_and_not_seds_temporary_one(dev, project):
    ping = project / "lambdas" / "handlers" / "ping.py"
    original = ping.read_text()
    mark = len(dev.lines)
    try:
        subprocess.run([shutil.which("sed") or "sed", "-i", "s/answer pong/answer pong (sed)/", str(ping)], check=True)
        line = wait_for_line(dev, r"RELOAD .*handlers/ping\.py: new workers for ping", mark, 10)
        time.sleep(1)
        assert "sed" not in line.split(":", 1)[0] and not re.search(r"handlers/sed\w{6}", line)
        assert not [seen for seen in dev.lines[mark:] if re.search(r"handlers/sed\w{6}", seen)]
    finally:
        fixed = len(dev.lines)
        ping.write_text(original)
        wait_for_line(dev, r"RELOAD .*handlers/ping\.py: new workers for ping", fixed, 10)


def test_a_handler_that_cannot_be_imported_is_named_as_in_the_project(dev, project):
    """Not a syntax error (the compile check catches those): an import that fails in the new workers.
    The message names lambdas/handlers/ping.py, not the reload's copy of it in a temporary directory."""
    ping = project / "lambdas" / "handlers" / "ping.py"
    original = ping.read_text()
    mark = len(dev.lines)
    try:
        ping.write_text("import no_such_module_anywhere\n" + original)
        line = wait_for_line(dev, r"ERROR .*not reloaded", mark, 20)
        assert "lambdas/handlers/ping.py:1: Unable to import module 'handlers.ping'" in line, line
        assert "no_such_module_anywhere" in line
        time.sleep(0.5)
        assert not [seen for seen in dev.lines[mark:] if "order-tracking-reload-" in seen]
    finally:
        fixed = len(dev.lines)
        ping.write_text(original)
    wait_for_line(dev, r"RELOAD .*handlers/ping\.py: new workers for ping", fixed, 10)


def test_a_client_edit_is_served(dev, project):
    page = project / "client" / "index.html"
    edit(page, "<h1>Track your order</h1>", "<h1>Track your order (edited)</h1>")
    time.sleep(0.5)
    with urllib.request.urlopen(dev.web_url, timeout=10) as response:  # noqa: S310 - local mode's own page
        assert "(edited)" in response.read().decode()


def test_a_stack_edit_reaches_the_next_invocation_and_a_flag_still_wins_over_cdk_json(dev, project):
    """cdk.json's connection cap down to 1: after the background synth, a customer's second connection
    is refused. Its maxDelaySeconds changes too, but --max-delay was given: the flag still wins, and the
    reload says so instead of "applied"."""
    mark = len(dev.lines)
    text = (project / "cdk.json").read_text()
    (project / "cdk.json").write_text(
        text.replace('"maxConnectionsPerCustomer": 10', '"maxConnectionsPerCustomer": 1').replace(
            '"maxDelaySeconds": 10', '"maxDelaySeconds": 7'
        )
    )
    line = wait_for_line(dev, r"RELOAD .*cdk\.json: applied: functions [^(]*connect", mark, 120)
    assert f"--max-delay {DELAY} still overrides MAX_DELAY_SECONDS (now 7 in the stack)" in line
    token = mint("reload-probe", local_signing_secret(project / ".local" / "signing-secret"))
    url = with_token(dev.ws_url.split("?", 1)[0], token)

    async def two_connections() -> int:
        async with websockets.connect(url):
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with websockets.connect(url):
                    pass
            return refused.value.response.status_code

    assert run(two_connections()) == 429
