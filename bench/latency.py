"""Latency and scale (issue 7, part 1): local mode beside the tutorial's design (a Node.js `ws`
server, bench/reference/), the same load generator against each, in the same run.

    python -m bench.latency [--levels 100,500,1000] [--deadline 600] [--min-delay 1] [--max-delay 2]

For each level N and each server, started fresh: N clients on loopback each track a seed order to
its end. Measured per event:
- first-event latency: from sending `track_order` to the first event's arrival;
- lateness of every later event: its arrival minus the time the server meant to send it (the
  timer's due time: Wait state entry + drawn delay in local mode, the timer's due time in Node);
- lost events: not received by the deadline;
and per server the CPU seconds and peak memory of its whole process tree during the load.

Results: bench/results/latency.json and bench/results/latency.png (the distributions).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.load import ClientRecord, generate
from bench.targets import LocalModeTarget, ReferenceServer
from local.cli.tokens import DEMO_CUSTOMER_ID, local_signing_secret, mint, with_token
from local.template.synth import ROOT

RESULTS = ROOT / "bench" / "results"
PERCENTILES = (50, 95, 99)


def percentiles_ms(samples: list[float]) -> dict[str, float | None]:
    if len(samples) < 2:
        return {f"p{p}": (round(samples[0] * 1000, 1) if samples else None) for p in PERCENTILES}
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {f"p{p}": round(cuts[p - 1] * 1000, 1) for p in PERCENTILES}


def measure(target: LocalModeTarget | ReferenceServer, clients: int, deadline: float, token: str) -> dict[str, Any]:
    target.start()
    try:
        before = target.usage()
        started = time.monotonic()
        records: list[ClientRecord] = asyncio.run(generate(with_token(target.url, token), clients, deadline_seconds=deadline))
        wall = time.monotonic() - started
        after = target.usage()
        schedule = target.schedule([r.tracking_id for r in records if r.tracking_id])
    finally:
        target.stop()
    first = [r.arrivals[1] - r.sent_at for r in records if 1 in r.arrivals and r.sent_at is not None]
    lateness, unscheduled = [], 0
    for record in records:
        if record.tracking_id is None:
            continue
        for seq, arrived in record.arrivals.items():
            if seq > 1:
                due = schedule.get((record.tracking_id, seq))
                if due is None:
                    unscheduled += 1
                else:
                    lateness.append(arrived - due)
    expected = sum(r.expected for r in records)
    return {
        "server": target.name,
        "clients": clients,
        "events_expected": expected,
        "events_received": sum(len(r.arrivals) for r in records),
        "events_lost": sum(r.lost for r in records),
        "client_failures": dict(Counter(r.failure for r in records if r.failure)),
        "first_event_ms": percentiles_ms(first),
        "lateness_ms": percentiles_ms(lateness),
        "events_without_schedule": unscheduled,
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(after.cpu_seconds - before.cpu_seconds, 2),
        "peak_rss_mb": after.peak_rss_mb,
        "processes": after.processes,
        "samples": {"first_event_s": first, "lateness_s": lateness},
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 1) if a is not None and b else None


def compare(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """local mode / reference, per level: lateness and first-event percentiles, CPU, memory."""
    by_key = {(r["server"], r["clients"]): r for r in runs}
    rows = []
    for clients in sorted({r["clients"] for r in runs}):
        local, reference = by_key.get((LocalModeTarget.name, clients)), by_key.get((ReferenceServer.name, clients))
        if not local or not reference:
            continue
        row = {"clients": clients}
        for metric in ("lateness_ms", "first_event_ms"):
            for p in PERCENTILES:
                row[f"{metric}_p{p}"] = ratio(local[metric][f"p{p}"], reference[metric][f"p{p}"])
        row["cpu"] = ratio(local["cpu_seconds"], reference["cpu_seconds"])
        row["peak_rss"] = ratio(local["peak_rss_mb"], reference["peak_rss_mb"])
        rows.append(row)
    return rows


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for axis, (key, title) in zip(
        axes, (("first_event_s", "first event after track_order"), ("lateness_s", "later events: lateness")), strict=True
    ):
        for run in runs:
            samples = sorted(max(s * 1000, 0.1) for s in run["samples"][key])
            if not samples:
                continue
            fractions = [(i + 1) / len(samples) for i in range(len(samples))]
            style = "-" if run["server"] == LocalModeTarget.name else "--"
            axis.step(samples, fractions, style, where="post", label=f"{run['server']}, {run['clients']} clients")
        axis.set_xscale("log")
        axis.set_xlabel("milliseconds (log scale)")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("fraction of events")
    axes[1].legend(fontsize=8, loc="lower right")
    figure.suptitle("Order tracking: local mode vs the tutorial's Node ws server (CDF)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def _raise_open_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the servers started below inherit it


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.latency")
    parser.add_argument("--levels", default="100,500,1000", help="numbers of concurrent clients")
    parser.add_argument("--deadline", type=float, default=600, help="seconds each run may take at most")
    parser.add_argument("--min-delay", type=int, default=1)
    parser.add_argument("--max-delay", type=int, default=2)
    parser.add_argument("--servers", default="reference,local", help="which servers to measure")
    parser.add_argument("--workers", type=int, default=4, help="local mode's Lambda worker processes per function")
    args = parser.parse_args(argv)
    _raise_open_file_limit()
    secret = local_signing_secret()
    token = mint(DEMO_CUSTOMER_ID, secret, 3 * 3600)
    factories: dict[str, Callable[[], LocalModeTarget | ReferenceServer]] = {
        "reference": lambda: ReferenceServer(args.min_delay, args.max_delay, secret),
        "local": lambda: LocalModeTarget(args.min_delay, args.max_delay, workers=args.workers),
    }
    runs = []
    for clients in (int(n) for n in args.levels.split(",")):
        for server in args.servers.split(","):
            run = measure(factories[server](), clients, args.deadline, token)
            runs.append(run)
            print(_line(run), flush=True)
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "delays_seconds": [args.min_delay, args.max_delay],
        "ratios_local_over_reference": compare(runs),
        "runs": [{k: v for k, v in r.items() if k != "samples"} for r in runs],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latency.json").write_text(json.dumps(report, indent=2) + "\n")
    plot(runs, RESULTS / "latency.png")
    for row in report["ratios_local_over_reference"]:
        print(f"local/reference at {row['clients']}: " + ", ".join(f"{k} {v}" for k, v in row.items() if k != "clients"))
    print(f"results: {RESULTS / 'latency.json'}, plot: {RESULTS / 'latency.png'}")
    return report


def _line(run: dict[str, Any]) -> str:
    late, first = run["lateness_ms"], run["first_event_ms"]
    return (
        f"{run['server']:<20} {run['clients']:>5} clients: lateness p50/p95/p99 {late['p50']}/{late['p95']}/{late['p99']} ms, "
        f"first event p50/p99 {first['p50']}/{first['p99']} ms, lost {run['events_lost']}/{run['events_expected']}, "
        f"cpu {run['cpu_seconds']} s, peak {run['peak_rss_mb']} MB, {run['wall_seconds']} s"
        + (f", failures {run['client_failures']}" if run["client_failures"] else "")
    )


if __name__ == "__main__":
    main()
