"""CPU time and peak memory of a process and everything it started, from /proc (Linux)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float  # user + system, summed over the tree
    peak_rss_mb: float  # the sum of each process's own peak resident set (VmHWM): an upper bound of the tree's peak
    processes: int


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # fields after the command name, starting at state


def descendants(pid: int) -> list[int]:
    """`pid` and every live process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(_stat_fields(int(entry.name))[1]), []).append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                continue
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def usage_of(pid: int) -> Usage:
    cpu, peak, count = 0.0, 0.0, 0
    for member in descendants(pid):
        try:
            fields = _stat_fields(member)
            status = Path(f"/proc/{member}/status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        cpu += (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND  # utime, stime
        hwm = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")), "0")
        peak += int(hwm) / 1024
        count += 1
    return Usage(cpu_seconds=round(cpu, 2), peak_rss_mb=round(peak, 1), processes=count)


def cpu_by_process(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of `pid` and of each live process below it, by pid."""
    seconds = {}
    for member in descendants(pid):
        try:
            fields = _stat_fields(member)
        except (FileNotFoundError, ProcessLookupError):
            continue
        seconds[member] = (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND
    return seconds


def rss_mb(pid: int) -> float:
    """The resident set of `pid` now (VmRSS), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) / 1024


def process_name(pid: int) -> str:
    """The process's name (/proc/<pid>/comm), "" if it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def rss_by_kind(pid: int, named: dict[str, str]) -> dict[str, float]:
    """Resident memory (MB) of `pid` ("main"), of its descendants whose process name is a key of `named`
    (under that key's value), and of every other descendant together ("others")."""
    totals = {"main": 0.0, **dict.fromkeys(named.values(), 0.0), "others": 0.0}
    for member in descendants(pid):
        try:
            megabytes = rss_mb(member)
        except (FileNotFoundError, ProcessLookupError):
            continue
        kind = "main" if member == pid else named.get(process_name(member), "others")
        totals[kind] += megabytes
    return {kind: round(value, 1) for kind, value in totals.items()}
