"""A protocol client for tests: sends frames, collects what the server pushes."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import websockets


class TrackingClient:
    def __init__(self, connection) -> None:
        self.connection = connection
        self.frames: list[dict[str, Any]] = []
        self.arrivals: list[float] = []
        self._reader = asyncio.create_task(self._read())
        self._changed = asyncio.Event()

    @classmethod
    async def open(cls, url: str, **kwargs: Any) -> TrackingClient:
        return cls(await websockets.connect(url, open_timeout=20, **kwargs))

    async def _read(self) -> None:
        try:
            async for message in self.connection:
                self.frames.append(json.loads(message))
                self.arrivals.append(time.monotonic())
                self._changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self._changed.set()

    async def send(self, frame: dict[str, Any] | str) -> float:
        await self.connection.send(frame if isinstance(frame, str) else json.dumps(frame))
        return time.monotonic()

    async def track(self, order_id: str, **extra: Any) -> float:
        return await self.send({"type": "track_order", "orderId": order_id, **extra})

    async def wait_for(self, predicate, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait until predicate(frames) is true; returns the frames."""
        deadline = time.monotonic() + timeout
        while not predicate(self.frames):
            left = deadline - time.monotonic()
            if left <= 0 or self._reader.done():
                break
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                break
        return list(self.frames)

    async def wait_for_count(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        return await self.wait_for(lambda frames: len(frames) >= count, timeout)

    async def close(self) -> None:
        await self.connection.close()
        await asyncio.wait_for(self._reader, 5)

    @property
    def closed(self) -> bool:
        return self._reader.done()
