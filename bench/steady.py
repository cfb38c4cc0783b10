"""Steady load on local mode: N clients looping connect → track_order → the order's events → close,
and a measuring window after a warm-up.

    python -m bench.steady [--clients 100] [--warmup 20] [--window 60] [--min-delay 1] [--max-delay 2]

Reports delivered events per second in the window, CPU per delivered event for local mode's main
process and for its Lambda workers (from /proc, the whole process tree), and the lateness of later
events against the server's own schedule (Wait-state entry plus the drawn delay, from the
executions' histories). With --profile, py-spy samples the main process (holding the GIL) during the
window, and the result says where its CPU goes, in ms per delivered event (bench/cpu_profile.py).
Results: bench/results/steady.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from datetime import UTC, datetime
from itertools import cycle
from pathlib import Path

import websockets

from bench.cpu_profile import start_sampling, summarise
from bench.latency import RESULTS, _raise_open_file_limit, percentiles_ms
from bench.load import SEED_LENGTHS
from bench.process_usage import cpu_by_process
from bench.targets import LocalModeTarget
from local.tokens import DEMO_CUSTOMER_ID, local_signing_secret, mint, with_token


class Tally:
    """Arrivals of every event, with the tracking it belongs to."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, str, int]] = []  # (epoch seconds, tracking id, seq)
        self.cycles = 0
        self.failures = 0


async def _loop(url: str, orders, tally: Tally, stop_at: float) -> None:
    while time.monotonic() < stop_at:
        order_id = next(orders)
        try:
            async with websockets.connect(url, open_timeout=30, max_queue=None) as connection:
                await connection.send(json.dumps({"type": "track_order", "orderId": order_id}))
                seen = 0
                while seen < SEED_LENGTHS[order_id]:
                    frame = json.loads(await asyncio.wait_for(connection.recv(), 60))
                    if "seq" not in frame:
                        raise RuntimeError(frame)
                    tally.arrivals.append((time.time(), frame["trackingId"], frame["seq"]))
                    seen += 1
            tally.cycles += 1
        except (OSError, TimeoutError, RuntimeError, websockets.WebSocketException):
            tally.failures += 1
            await asyncio.sleep(0.5)


async def _run(url: str, clients: int, warmup: float, window: float, *, main_pid: int, profile: Path | None) -> dict:
    tally = Tally()
    started = time.monotonic()
    stop_at = started + warmup + window
    orders = cycle(SEED_LENGTHS)
    tasks = [asyncio.create_task(_loop(url, orders, tally, stop_at)) for _ in range(clients)]
    await asyncio.sleep(warmup)
    window_start, cpu_before = time.time(), cpu_by_process(main_pid)
    sampler = start_sampling(main_pid, window, profile) if profile else None
    await asyncio.sleep(window)
    window_end, cpu_after = time.time(), cpu_by_process(main_pid)
    if sampler:
        await asyncio.to_thread(sampler.wait, 60)
    await asyncio.wait(tasks, timeout=90)
    for task in tasks:
        task.cancel()
    in_window = [a for a in tally.arrivals if window_start <= a[0] < window_end]
    main = cpu_after.get(main_pid, 0) - cpu_before.get(main_pid, 0)
    workers = sum(cpu_after[p] - cpu_before.get(p, 0) for p in cpu_after if p != main_pid)
    return {
        "tally": tally,
        "in_window": in_window,
        "main_cpu_s": main,
        "workers_cpu_s": workers,
        "window_s": window_end - window_start,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.steady")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--warmup", type=float, default=20)
    parser.add_argument("--window", type=float, default=60)
    parser.add_argument("--min-delay", type=int, default=1)
    parser.add_argument("--max-delay", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4, help="Lambda worker processes per function")
    parser.add_argument("--label", default="", help="a name for this run in the results file (e.g. before/after)")
    parser.add_argument("--profile", action="store_true", help="sample the main process with py-spy during the window")
    args = parser.parse_args(argv)
    _raise_open_file_limit()
    token = mint(DEMO_CUSTOMER_ID, local_signing_secret(), 3 * 3600)
    target = LocalModeTarget(args.min_delay, args.max_delay, workers=args.workers).start()
    profile = RESULTS / f"steady-profile-{args.label or 'run'}.txt" if args.profile else None
    RESULTS.mkdir(parents=True, exist_ok=True)
    try:
        measured = asyncio.run(
            _run(
                with_token(target.url, token),
                args.clients,
                args.warmup,
                args.window,
                main_pid=target.process.process.pid,
                profile=profile,
            )
        )
        in_window = measured["in_window"]
        schedule = target.schedule(sorted({tracking for _, tracking, _ in in_window}))
    finally:
        target.stop()
    events = len(in_window)
    lateness = [at - schedule[(t, seq)] for at, t, seq in in_window if seq > 1 and (t, seq) in schedule]
    per_event = lambda cpu: round(cpu / events * 1000, 1) if events else None  # noqa: E731
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
        "cycles_completed": measured["tally"].cycles,
        "client_failures": measured["tally"].failures,
    }
    path = RESULTS / "steady.json"
    runs = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps([*runs, result], indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
