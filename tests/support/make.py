"""`make` as a user runs it in the project, also when the tests themselves run under `make test`: a
make started by a recipe inherits MAKEFLAGS and MAKELEVEL and then prints "Entering/Leaving
directory" around its output, which no user sees."""

from __future__ import annotations

import os
import shutil
import subprocess

from local.template.synth import ROOT

INHERITED = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")


def make(*args: str, timeout: float = 300, check: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in INHERITED}
    command = [shutil.which("make") or "make", "--no-print-directory", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=check)
