"""The time budget holds for real (tests/infra/test_time_budgets.py does the arithmetic): an emit whose
DynamoDB accepts connections and never answers gives up before its function's timeout, with
TransientFault, which the state machine retries."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from order_tracking.aws import clients as aws_clients
from order_tracking.runtime import deadline, settings

from tests.unit.conftest import LambdaContextStub

TIMEOUT_SECONDS = 5.0


def test_an_emit_whose_dynamodb_never_answers_gives_up_before_its_timeout(aws, monkeypatch):
    """A port that accepts connections and never answers: each attempt times out, the retry is
    refused by the deadline, and the emit fails with TransientFault (the state machine retries)."""
    from handlers import emit

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: [held.append(silent.accept()[0]) for _ in range(16)], daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{silent.getsockname()[1]}")
    aws_clients.reset()
    settings.reset()
    timeout_seconds = TIMEOUT_SECONDS
    started = time.monotonic()

    class Context(LambdaContextStub):
        def get_remaining_time_in_millis(self) -> int:
            return int((started + timeout_seconds - time.monotonic()) * 1000)

    emitted = {"seq": 2, "orderId": "ZX-1001", "type": "order_sent", "label": "Shipped", "status": "active"}
    event = {"trackingId": "t-1", "executionName": "t-1", "event": emitted}
    with pytest.raises(emit.TransientFault):
        emit.handler(event, Context())
    elapsed = time.monotonic() - started
    assert elapsed <= deadline.worst_case_seconds(timeout_seconds) < timeout_seconds
    silent.close()
    aws_clients.reset()
    settings.reset()
