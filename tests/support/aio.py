"""Run a coroutine to completion from a synchronous test.

In a thread of its own: Playwright's sync API keeps an event loop running in the main thread while a
browser is open, and asyncio.run refuses to start inside a running loop.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor


def run(coroutine):
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="asyncio") as pool:
        return pool.submit(asyncio.run, coroutine).result()
