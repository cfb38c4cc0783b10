"""Steady load on local mode: N clients looping connect → track_order → the order's events → close,
and a measuring window after a warm-up.

    python -m bench.steady [--clients 100] [--warmup 20] [--window 60] [--min-delay 1] [--max-delay 2]
    python -m bench.steady --soak --clients 50 --window 570     (memory under steady load)

Reports delivered events per second in the window, CPU per delivered event for local mode's main
process and for its Lambda workers (from /proc, the whole process tree), and the lateness of later
events against the server's own schedule (Wait-state entry plus the drawn delay, from the
executions' histories). With --profile, py-spy samples the main process (holding the GIL) during the
window, and the result says where its CPU goes, in ms per delivered event (bench/cpu_profile.py).
With --soak, finished executions are pruned as in `make dev` (not kept for the lateness reading),
trackings are kept for SOAK_RETENTION_SECONDS (local mode's TTL sweep deletes them after, as
DynamoDB's TTL does after the stack's retention), and the resident memory of the main process, of
moto's DynamoDB process and of the rest of the tree is sampled every 10 s: the result has the series
and the growth per completed tracking cycle in each half of the window (bounded: none in the second).
Results: bench/results/steady.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import cycle
from pathlib import Path
from typing import Any

from bench.cpu_profile import start_sampling, summarise
from bench.latency import RESULTS, _raise_open_file_limit, percentiles_ms
from bench.load import SEED_LENGTHS, ClientRecord, run_client
from bench.process_usage import cpu_by_process, rss_by_kind
from bench.targets import LocalModeTarget
from local.aws.dynamodb_process import PROCESS_NAME
from local.cli.tokens import DEMO_CUSTOMER_ID, local_signing_secret, mint, with_token

CYCLE_SECONDS = 90  # the longest one tracking cycle of a client may take
# Local mode's processes by name: moto's DynamoDB; the rest ("others") are Lambda workers and
# multiprocessing's resource tracker.
PROCESS_KINDS = {PROCESS_NAME: "dynamodb"}
SOAK_RETENTION_SECONDS = 120  # trackings expire within a soak, as they do within a day on AWS


class Tally:
    """Every tracking cycle the clients have run so far, as bench/load.py's client records them."""

    def __init__(self) -> None:
        self.records: list[ClientRecord] = []

    @property
    def cycles(self) -> int:
        return sum(1 for r in self.records if r.failure is None and r.lost == 0)

    @property
    def failures(self) -> int:
        return sum(1 for r in self.records if r.failure is not None)

    def arrivals(self) -> list[tuple[float, str, int]]:
        """(epoch seconds, tracking id, seq) of every event received."""
        return [(at, r.tracking_id, seq) for r in self.records if r.tracking_id for seq, at in r.arrivals.items()]


async def _loop(url: str, orders: Iterator[str], tally: Tally, stop_at: float, handshakes: asyncio.Semaphore) -> None:
    """One client: track the next seed order to its end on a new connection, again and again."""
    while time.monotonic() < stop_at:
        record = ClientRecord(order_id=next(orders))
        tally.records.append(record)
        await run_client(url, record, handshakes, time.monotonic() + CYCLE_SECONDS)
        if record.failure is not None:
            await asyncio.sleep(0.5)


async def _run(url: str, clients: int, warmup: float, window: float, *, main_pid: int, profile: Path | None) -> dict[str, Any]:
    tally = Tally()
    started = time.monotonic()
    stop_at = started + warmup + window
    orders = cycle(SEED_LENGTHS)
    handshakes = asyncio.Semaphore(clients)  # no cap beyond the clients themselves
    tasks = [asyncio.create_task(_loop(url, orders, tally, stop_at, handshakes)) for _ in range(clients)]
    await asyncio.sleep(warmup)
    window_start, cpu_before = time.time(), cpu_by_process(main_pid)
    sampler = start_sampling(main_pid, window, profile) if profile else None
    memory: list[dict[str, float]] = []  # seconds into the window, cycles so far, RSS MB by kind of process

    def sample(elapsed: float) -> None:
        memory.append({"seconds": round(elapsed, 1), "cycles": tally.cycles, **rss_by_kind(main_pid, PROCESS_KINDS)})

    while (elapsed := time.time() - window_start) < window:
        sample(elapsed)
        await asyncio.sleep(min(10.0, window - elapsed))
    window_end, cpu_after = time.time(), cpu_by_process(main_pid)
    sample(window_end - window_start)
    if sampler:
        await asyncio.to_thread(sampler.wait, 60)
    await asyncio.wait(tasks, timeout=90)
    for task in tasks:
        task.cancel()
    in_window = [a for a in tally.arrivals() if window_start <= a[0] < window_end]
    main = cpu_after.get(main_pid, 0) - cpu_before.get(main_pid, 0)
    workers = sum(cpu_after[p] - cpu_before.get(p, 0) for p in cpu_after if p != main_pid)
    return {
        "tally": tally,
        "in_window": in_window,
        "main_cpu_s": main,
        "workers_cpu_s": workers,
        "window_s": window_end - window_start,
        "memory": memory,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.steady")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--warmup", type=float, default=20)
    parser.add_argument("--window", type=float, default=60)
    parser.add_argument("--min-delay", type=int, default=1)
    parser.add_argument("--max-delay", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4, help="Lambda worker processes per function")
    parser.add_argument("--label", default="", help="a name for this run in the results file (e.g. before/after)")
    parser.add_argument("--profile", action="store_true", help="sample the main process with py-spy during the window")
    parser.add_argument("--soak", action="store_true", help="prune executions as make dev does; report memory growth")
    parser.add_argument(
        "--retention",
        type=int,
        help=f"seconds local mode keeps trackings (default: the stack's; {SOAK_RETENTION_SECONDS} with --soak)",
    )
    args = parser.parse_args(argv)
    _raise_open_file_limit()
    token = mint(DEMO_CUSTOMER_ID, local_signing_secret(), 3 * 3600)
    retention = args.retention or (SOAK_RETENTION_SECONDS if args.soak else None)
    target = LocalModeTarget(
        args.min_delay,
        args.max_delay,
        workers=args.workers,
        keep_executions=60 if args.soak else 3600,
        extra_args=["--retention", str(retention)] if retention else [],
    )
    target.start()
    profile = RESULTS / f"steady-profile-{args.label or 'run'}.txt" if args.profile else None
    RESULTS.mkdir(parents=True, exist_ok=True)
    try:
        measured = asyncio.run(
            _run(
                with_token(target.url, token),
                args.clients,
                args.warmup,
                args.window,
                main_pid=target.process.pid,
                profile=profile,
            )
        )
        in_window = measured["in_window"]
        # A soak prunes finished executions: their schedules are gone, so no lateness is reported.
        schedule = {} if args.soak else target.schedule(sorted({tracking for _, tracking, _ in in_window}))
    finally:
        target.stop()
    events = len(in_window)
    lateness = [at - schedule[(t, seq)] for at, t, seq in in_window if seq > 1 and (t, seq) in schedule]

    def per_event(cpu: float) -> float | None:
        return round(cpu / events * 1000, 1) if events else None

    result = {
        "label": args.label,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "clients": args.clients,
        "delays_seconds": [args.min_delay, args.max_delay],
        "window_seconds": round(measured["window_s"], 1),
        "events_per_second": round(events / measured["window_s"], 1),
        "cpu_ms_per_event": {
            "main": per_event(measured["main_cpu_s"]),
            "workers": per_event(measured["workers_cpu_s"]),
            "total": per_event(measured["main_cpu_s"] + measured["workers_cpu_s"]),
        },
        "lateness_ms": percentiles_ms(lateness),
        "main_cpu_ms_per_event_by_part": summarise(profile, events) if profile else None,
        "retention_seconds": retention,
        "rss_mb": measured["memory"],
        "rss_kb_per_cycle": _growth_by_half(measured["memory"]),
        "cycles_completed": measured["tally"].cycles,
        "client_failures": measured["tally"].failures,
    }
    path = RESULTS / "steady.json"
    runs = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps([*runs, result], indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


def _growth_by_half(memory: list[dict[str, float]]) -> dict[str, dict[str, float | None]]:
    """Growth of each kind's RSS (and the tree's) per completed cycle, in KB, over the first and the
    second half of the window: a store that is bounded grows in the first and stops in the second."""
    kinds = [k for k in memory[0] if k not in ("seconds", "cycles")] if memory else []
    half = len(memory) // 2
    growth: dict[str, dict[str, float | None]] = {}
    for kind in [*kinds, "total"]:
        series = [(m["cycles"], sum(m[k] for k in kinds) if kind == "total" else m[kind]) for m in memory]
        growth[kind] = {"first_half": _slope_kb(series[: half + 1]), "second_half": _slope_kb(series[half:])}
    return growth


def _slope_kb(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of MB over cycles, in KB per cycle."""
    if len(points) < 3:
        return None
    xs, ys = [x for x, _ in points], [y * 1024 for _, y in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return round(sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread, 1) if spread else None


if __name__ == "__main__":
    main()
