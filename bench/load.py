"""The load generator: N WebSocket clients on loopback, each tracking one seed order to its end.

Bounded in count (N clients, at most `handshakes` opening at once) and in time (every client stops
at the deadline). For each client it records when `track_order` was sent and when each event
arrived; what was never received by the deadline is counted as lost.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from itertools import cycle

import websockets

from infra.seed_data import load_seed_orders

# Events per seed order, from the data the stack seeds (infra/seed_orders.json).
SEED_LENGTHS = {order_id: len(events) for order_id, events in load_seed_orders()[1].items()}


@dataclass
class ClientRecord:
    order_id: str
    sent_at: float | None = None  # epoch seconds
    tracking_id: str | None = None
    arrivals: dict[int, float] = field(default_factory=dict)  # seq -> epoch seconds
    failure: str | None = None

    @property
    def expected(self) -> int:
        return SEED_LENGTHS[self.order_id]

    @property
    def lost(self) -> int:
        return self.expected - len(self.arrivals)


async def run_client(url: str, record: ClientRecord, handshakes: asyncio.Semaphore, deadline: float) -> None:
    try:
        async with handshakes:
            connection = await websockets.connect(url, open_timeout=max(1.0, deadline - time.monotonic()), max_queue=None)
    except (OSError, TimeoutError, websockets.WebSocketException) as error:
        record.failure = f"connect: {type(error).__name__}"
        return
    async with connection:
        record.sent_at = time.time()
        await connection.send(json.dumps({"type": "track_order", "orderId": record.order_id}))
        while len(record.arrivals) < record.expected:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                record.failure = "deadline"
                return
            try:
                message = await asyncio.wait_for(connection.recv(), remaining)
            except TimeoutError:
                record.failure = "deadline"
                return
            except websockets.ConnectionClosed:
                record.failure = "closed"
                return
            received_at = time.time()
            frame = json.loads(message)
            if "seq" not in frame:
                record.failure = f"frame: {frame.get('code', frame.get('type'))}"
                return
            record.tracking_id = frame["trackingId"]
            record.arrivals.setdefault(frame["seq"], received_at)


async def generate(url: str, clients: int, *, deadline_seconds: float, handshakes: int = 50) -> list[ClientRecord]:
    """Open `clients` connections to `url` (the token in the query), each tracking the next seed order."""
    orders = cycle(SEED_LENGTHS)
    records = [ClientRecord(order_id=next(orders)) for _ in range(clients)]
    deadline = time.monotonic() + deadline_seconds
    gate = asyncio.Semaphore(handshakes)
    await asyncio.gather(*(run_client(url, record, gate, deadline) for record in records))
    return records
