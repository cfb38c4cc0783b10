"""The commands and the console as a newcomer meets them: `make dev` passes options through and says in
one line when a port is taken; `make publish` and `make token` find the running local mode on whatever
ports it runs, and say in one line when none runs; the console shows what became of each publish;
README's sample console is what local mode prints."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import pytest

from local.template.synth import ROOT
from tests.support.make import make

pytestmark = pytest.mark.e2e


def run_command(*args: str, running_file, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python *args` in the project, as `make` runs it, finding local mode through `running_file`."""
    env = {**os.environ, "ORDER_TRACKING_RUNNING_FILE": str(running_file), "NO_COLOR": "1"}
    command = [sys.executable, *args]
    return subprocess.run(command, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def publish(local_mode, *args: str) -> subprocess.CompletedProcess[str]:
    return run_command("-m", "publish", *args, running_file=local_mode.running_file)


def console_line(local_mode, pattern: str, after: int, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in local_mode.lines[after:]:
            if re.search(pattern, line):
                return line
        time.sleep(0.1)
    raise AssertionError(f"no console line matching {pattern!r}:\n" + "\n".join(local_mode.lines[-10:]))


def test_make_dev_passes_args_through_to_local_mode():
    shown = make("-n", "dev", "ARGS=--min-delay 1 --max-delay 2", check=True)
    assert shown.stdout.strip().splitlines()[-1].endswith("-m local run --min-delay 1 --max-delay 2")


@pytest.mark.parametrize("option", ["--aws-port", "--ws-port", "--web-port"])
def test_a_port_in_use_is_one_line_naming_the_port_and_the_option(option, tmp_path, cdk_out):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = {"--aws-port": "0", "--ws-port": "0", "--web-port": "0", option: str(port)}
        options = [part for pair in ports.items() for part in pair]
        started = run_command("-m", "local", "run", "--no-watch", *options, running_file=tmp_path / "r.json")
    output = (started.stdout + started.stderr).strip().splitlines()
    assert started.returncode == 2
    assert len(output) == 1, output
    assert f"port {port} is in use" in output[0] and option in output[0]
    assert "Traceback" not in started.stderr


def test_make_publish_finds_the_running_local_mode_and_the_console_shows_what_became_of_it(local_mode):
    mark = len(local_mode.lines)
    order = f"LV-CLI-{int(time.time())}"
    published = publish(local_mode, "--order", order, "--type", "order_created", "--key", f"{order}/1")
    assert published.returncode == 0, published.stderr
    assert f"published {order} order_created ('Order received', pending) as seq 1 on OrderTracking-dev-orders" in published.stdout
    console_line(local_mode, rf"PUBLISH  {order} order_created seq=1 → 0 watchers", mark)

    again = publish(local_mode, "--order", order, "--type", "order_created", "--key", f"{order}/1")
    assert again.returncode == 0 and again.stdout.startswith(f"repeated: key '{order}/1' is stored already, as seq 1")
    console_line(local_mode, rf"REPEATED {order} order_created key '{order}/1': stored already as seq 1", mark)

    refused = publish(local_mode, "--order", "ZX-1001", "--type", "order_sent")
    assert refused.returncode == 1 and "published" not in refused.stdout + refused.stderr
    why = "not_live: ZX-1001 is a simulated order"
    assert f"refused by the stack: ZX-1001 order_sent ('Shipped', active): {why}" in refused.stderr
    console_line(local_mode, r"REFUSED  publish ZX-1001 order_sent: not_live: ZX-1001 is a simulated order", mark)


def test_make_publish_and_make_token_say_in_one_line_when_no_local_mode_runs(tmp_path):
    published = run_command("-m", "publish", "--order", "LV-2001", "--type", "order_created", running_file=tmp_path / "none.json")
    assert published.returncode == 1
    assert published.stderr.strip().splitlines() == [
        "no local mode is running: start one with `make dev` (in another terminal), "
        "or publish to a deployed stack with STACK=OrderTracking-dev"
    ]
    token = run_command("-m", "local", "token", running_file=tmp_path / "none.json")
    assert "(no local mode is running: make dev serves its client at http://127.0.0.1:8000/" in token.stdout


def test_make_token_prints_the_port_the_client_is_really_on(local_mode):
    printed = run_command("-m", "local", "token", running_file=local_mode.running_file)
    (client,) = [line for line in printed.stdout.splitlines() if line.startswith("client: ")]
    assert client.startswith(f"client: {local_mode.web_url}?token=")
    assert local_mode.web_url != "http://127.0.0.1:8000/"  # the tests run it on a free port


def test_readmes_sample_console_is_what_local_mode_prints(local_mode):
    readme = (ROOT / "README.md").read_text()
    sample = readme.split("make dev\n```\n\n```\n", 1)[1].split("```", 1)[0].strip().splitlines()

    def shape(line: str) -> str:
        """A console line without what differs between runs: time, ports, tokens, connection ids, timings."""
        line = re.sub(r"^[\d:.]+ ", "", line)
        line = re.sub(r"token=[\w.…-]+", "token=…", line)
        return re.sub(r":\d{2,5}", ":PORT", line)

    printed = {shape(line) for line in local_mode.lines if " READY " in line or " INFO " in line}
    ready = [shape(line) for line in sample if " READY " in line or " INFO " in line]
    assert ready and all(line in printed for line in ready), (ready, printed)
    assert any("aws       http://127.0.0.1:3001 (moto: DynamoDB, Step Functions, SQS, EventBridge)" in line for line in sample)
    assert any("PUBLISH" in line for line in sample)  # live orders, as the console shows them
