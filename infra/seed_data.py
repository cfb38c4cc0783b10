"""The seed orders' data (seed_orders.json): the orders every stack is deployed with and their owner.
Read here, without CDK, by the stack (seed_orders.py), local mode, the smoke check, make publish and
the benchmarks: one reading of one file."""

from __future__ import annotations

import json
from pathlib import Path

SEED_FILE = Path(__file__).with_name("seed_orders.json")


def load_seed_orders() -> tuple[str, dict[str, list[dict[str, str]]]]:
    """(the owner's customer id, {order id: its events, each {type, label, status}})."""
    data = json.loads(SEED_FILE.read_text())
    return data["ownerCustomerId"], data["orders"]
