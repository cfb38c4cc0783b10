"""The docs' tables of commands and options are the code's: every make target and every variable a
recipe reads is in docs/operations.md's command table, and every option of `python -m local run`,
`python -m local token`, `python -m smoke` and `python -m publish` is in its documented table, with no
option documented that the command does not have."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess

import pytest

from infra.config import ROOT
from local.__main__ import command_line as local_command_line
from publish.__main__ import command_line as publish_command_line
from smoke.__main__ import command_line as smoke_command_line

MAKEFILE = (ROOT / "Makefile").read_text()
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()
LOCAL_MODE = (ROOT / "docs" / "local-mode.md").read_text()
# Variables of the Makefile itself, not a user's to set.
GIT = shutil.which("git") or "/usr/bin/git"
INTERNAL_VARIABLES = {"VENV", "PY", "INSTALLED", "CDK", "CDK_OUT", "CURDIR", "LAMBDA_PYTHON"}


def table_after(markdown: str, marker: str) -> str:
    """The first markdown table after the line containing `marker`."""
    start = markdown.index(marker)
    lines = markdown[start:].splitlines()[1:]
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return "\n".join(rows)


def first_column_options(table: str) -> set[str]:
    return {option for row in table.splitlines()[2:] for option in re.findall(r"--[a-z][a-z-]*", row.split(" | ")[0])}


def options_of(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings if option.startswith("--")} - {"--help"}


def subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    chosen = commands.choices[name]
    assert isinstance(chosen, argparse.ArgumentParser)
    return chosen


def phony_targets() -> set[str]:
    (line,) = re.findall(r"^\.PHONY:(.*)$", MAKEFILE, re.MULTILINE)
    return set(line.split())


def test_every_make_target_is_in_the_command_table_and_nothing_else_is():
    table = table_after(OPERATIONS, "| command | what it does |")
    documented = set(re.findall(r"^\| `make ([a-z]+)", table, re.MULTILINE))
    defined = set(re.findall(r"^([a-z]+):", MAKEFILE, re.MULTILINE))
    assert documented == phony_targets() == defined


def test_every_variable_a_recipe_reads_is_in_the_command_table():
    table = table_after(OPERATIONS, "| command | what it does |")
    read = set(re.findall(r"\$\(([A-Z_]+)\)", MAKEFILE)) | set(re.findall(r"^([A-Z_]+) \?=", MAKEFILE, re.MULTILINE))
    user_variables = read - INTERNAL_VARIABLES
    assert {"ARGS", "STACK", "AWS_URL", "SMOKE_ARGS", "PYTHON", "STAGE"} <= user_variables  # the parse found them
    missing = {name for name in user_variables if not re.search(rf"\b{name}=", table)}
    assert not missing, f"make variables not in docs/operations.md's command table: {sorted(missing)}"


@pytest.mark.parametrize(
    ("command", "parser", "doc", "marker"),
    [
        ("python -m local run", lambda: subcommand(local_command_line(), "run"), LOCAL_MODE, "`python -m local run` options"),
        ("python -m local token", lambda: subcommand(local_command_line(), "token"), OPERATIONS, "`python -m local token`"),
        ("python -m smoke", smoke_command_line, OPERATIONS, "`python -m smoke` (`make smoke`"),
        ("python -m publish", publish_command_line, OPERATIONS, "`python -m publish` (`make publish`"),
    ],
)
def test_the_options_table_of_a_command_is_its_parser(command, parser, doc, marker):
    documented = first_column_options(table_after(doc, marker))
    actual = options_of(parser())
    assert documented == actual, (
        f"{command}: undocumented {sorted(actual - documented)}, documented but absent {sorted(documented - actual)}"
    )


PERFORMANCE = (ROOT / "docs" / "performance.md").read_text()
README = (ROOT / "README.md").read_text()
# A figure as the docs write it: 1,000 or 84.2, not the 50 of "p50" nor a part of "2026-12-01".
FIGURE = re.compile(r"(?<![\w.,\-/])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w\-]|\.\d)|(?<![\w.,\-/])\d+(?:\.\d+)?(?![\w\-]|\.\d)")


def figures(text: str) -> list[tuple[float, int, str]]:
    """Each figure of `text`: its value, its decimals and the unit after it ("s", "ms", "KB", ...)."""
    found = []
    for match in FIGURE.finditer(text):
        literal = match.group().replace(",", "")
        unit = re.match(r"\s?(ms|s|KB|MB)\b", text[match.end() :])
        decimals = len(literal.partition(".")[2])
        found.append((float(literal), decimals, unit.group(1) if unit else ""))
    return found


def numbers_in(document: object) -> list[float]:
    if isinstance(document, bool):
        return []
    if isinstance(document, int | float):
        return [float(document)]
    if isinstance(document, dict):
        return [n for value in document.values() for n in numbers_in(value)]
    if isinstance(document, list):
        return [n for value in document for n in numbers_in(value)]
    return []


def in_results(value: float, decimals: int, unit: str, recorded: list[float]) -> bool:
    """`value` as written is one of the recorded numbers, rounded as written (a figure in s may be
    recorded in ms)."""
    scales = [1.0, 1000.0] if unit == "s" else [1.0]
    return any(round(n / scale, decimals) == value for n in recorded for scale in scales)


def target_rows() -> list[list[str]]:
    table = table_after(PERFORMANCE, "## Targets and where they stand")
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in table.splitlines()[2:]]


def test_every_figure_of_the_performance_targets_is_in_the_results_file_its_row_names():
    import json

    rows = target_rows()
    assert len(rows) >= 10
    for target, today, measured_by, results in rows:
        (link,) = re.findall(r"\]\(([^)]+)\)", results)
        path = (ROOT / "docs" / link).resolve()
        assert path.exists(), f"{target}: {link} does not exist"
        if path.suffix == ".py":  # a figure a test asserts: the test is there
            (test_name,) = re.findall(r"`(test_\w+)`", measured_by)
            assert f"def {test_name}(" in path.read_text(), f"{target}: no {test_name} in {link}"
            continue
        recorded = numbers_in(json.loads(path.read_text()))
        written = figures(re.sub(r"\]\([^)]*\)", "]", today))  # not the figures of a link's target
        assert written, f"{target}: no figure"
        missing = [value for value, decimals, unit in written if not in_results(value, decimals, unit, recorded)]
        assert not missing, f"{target}: {missing} are not in {link}"


def test_every_figure_of_the_readme_s_measured_section_is_in_the_performance_page():
    measured = README[README.index("## Measured") : README.index("## Documentation")]
    page = [(value, decimals) for value, decimals, _ in figures(PERFORMANCE)]
    missing = [value for value, decimals, _ in figures(measured) if (value, decimals) not in page]
    assert not missing, f"README's figures not in docs/performance.md: {missing}"


def test_the_configuration_table_names_every_context_key_the_stack_reads():
    config = (ROOT / "infra" / "config.py").read_text()
    read = set(re.findall(r'ctx\("(\w+)"\)', config))
    assert {"stage", "powertoolsVersion", "canary"} <= read
    table = table_after(OPERATIONS, "### Configuration")
    documented = {key for row in table.splitlines()[2:] for key in re.findall(r"`(\w+)`", row.split(" | ")[0])}
    assert documented == read


def test_the_lease_expiry_the_docs_state_is_the_code_s():
    from order_tracking.delivery.lease import LEASE_MS

    reliability = (ROOT / "docs" / "reliability.md").read_text()
    (stated,) = re.findall(r"expires after (\d+) s \(`LEASE_MS`", reliability)
    assert int(stated) * 1000 == LEASE_MS


def test_every_path_the_docs_name_exists():
    """A path in the docs is a file of the repository, or one the commands make (bench/results/, from
    `make bench`), which git ignores: a clean clone has none of those."""
    examples = {"lambdas/handlers/x.py"}  # the shape of a message, not a file
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for path in re.findall(r"`((?:lambdas|local|infra|tests|bench|smoke|publish|client|docs)/[\w./\-]*)", page.read_text()):
            if path in examples or (ROOT / path.rstrip("/")).exists():
                continue
            ignored = subprocess.run([GIT, "check-ignore", "-q", path], cwd=ROOT, check=False).returncode == 0
            assert ignored, f"{page.name} names {path}, which does not exist"
