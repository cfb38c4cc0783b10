"""A small threaded WSGI server that keeps HTTP/1.1 connections alive, for moto's app in local mode.

werkzeug's development server (what moto's own server uses) answers every request with
`Connection: close`: each AWS call of a Lambda worker or of the Step Functions interpreter then paid a
new TCP connection and a new thread. Here a connection gets one thread for as long as the client keeps
it (botocore pools its connections), and each request on it is one call of the WSGI app. Its socket
sends at once (TCP_NODELAY).

Only what local mode's callers send is supported: requests with a Content-Length (or none); a chunked
request body is answered 411.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import unquote_to_bytes, urlsplit

IDLE_SECONDS = 60  # a kept-alive connection with no request for this long is closed
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS
    # A response is two writes (the head, then the body). With Nagle's algorithm the body waited for
    # the client to acknowledge the head, which a client delays by up to 40 ms: every AWS call of
    # local mode took about 45 ms instead of 2 (docs/performance.md).
    disable_nagle_algorithm = True
    app: Callable[..., Any]

    @property
    def _wsgi(self) -> KeepAliveWsgiServer:
        return cast(KeepAliveWsgiServer, self.server)

    def _call_app(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._send(411, [("Content-Type", "text/plain")], b"Length Required")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        url = urlsplit(self.path)
        environ = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(url.path).decode("latin-1"),
            "QUERY_STRING": url.query,
            "RAW_URI": self.path,
            "REQUEST_URI": self.path,
            "SERVER_NAME": self._wsgi.host,
            "SERVER_PORT": str(self._wsgi.port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": str(self.client_address[1]),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if self.headers.get("Content-Type"):
            environ["CONTENT_TYPE"] = self.headers["Content-Type"]
        environ["CONTENT_LENGTH"] = str(len(body)) if body else ""
        for name, value in self.headers.items():
            key = "HTTP_" + name.upper().replace("-", "_")
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                environ[key] = f"{environ[key]},{value}" if key in environ else value
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            answer["status"], answer["headers"] = status, headers
            return lambda data: answer.setdefault("written", []).append(data)

        try:
            result = self._wsgi.app(environ, start_response)
            try:
                data = b"".join([*answer.get("written", []), *result])
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception as error:  # as werkzeug does: the caller gets a 500, the server goes on
            print(f"local AWS endpoint: {type(error).__name__}: {error}", file=sys.stderr)
            self._send(500, [("Content-Type", "text/plain")], b"Internal Server Error")
            return
        code = int(answer["status"].split(" ", 1)[0])
        self._send(code, [(k, v) for k, v in answer["headers"] if k.lower() not in HOP_BY_HOP], data)

    def _send(self, code: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response_only(code)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _call_app

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass


class KeepAliveWsgiServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, host: str, port: int, app: Callable[..., Any]) -> None:
        super().__init__((host, port), _Handler)
        self.app = app
        self.host, self.port = host, int(self.server_address[1])
        self._thread: threading.Thread | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away mid-request; the WSGI app logs its own failures
