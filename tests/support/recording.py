"""A management API on a free local port whose connections record what they receive."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from werkzeug.serving import make_server

from local.gateway.management_api import Connection, ConnectionRegistry, ManagementApp


class RecordingConnection:
    def __init__(self, connection_id: str) -> None:
        self.connection_id = connection_id
        self.frames: list[dict[str, Any]] = []
        self.closed = False
        self._changed = threading.Condition()

    def send(self, text: str) -> None:
        with self._changed:
            self.frames.append(json.loads(text))
            self._changed.notify_all()

    def close(self) -> None:
        self.closed = True

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.frames) < count and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            return list(self.frames)


class RecordingManagementApi:
    """Serves `@connections` for the connections a test opens; unknown ids get 410 Gone. `latency`
    (seconds) makes each post take that long, and `max_in_flight` says how many were in flight at once."""

    def __init__(self) -> None:
        self.latency = 0.0
        self.max_in_flight = 0
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self.registry = ConnectionRegistry()
        self._server = make_server("127.0.0.1", 0, ManagementApp(self.registry), threaded=True)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def open(self, connection_id: str) -> RecordingConnection:
        recorder = RecordingConnection(connection_id)
        self.registry.add(Connection(connection_id, send=lambda text: self._post(recorder, text), close=recorder.close))
        return recorder

    def _post(self, recorder: RecordingConnection, text: str) -> None:
        with self._count_lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            recorder.send(text)
        finally:
            with self._count_lock:
                self._in_flight -= 1

    def drop(self, connection_id: str) -> None:
        """The client went away without API Gateway noticing yet: posts now get 410."""
        self.registry.remove(connection_id)

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
