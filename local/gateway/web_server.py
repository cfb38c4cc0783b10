"""Serves the static client (`client/`) and a generated `config.json` pointing at the local endpoint,
with the headers the deployed CloudFront adds (each behaviour's response headers policy, read from the
template): a Content-Security-Policy violation shows up locally first, and the JavaScript modules
answer another origin's CORS request as CloudFront answers it, and nothing else does.

`config.json` carries a demo customer's token: it answers only requests whose Host is a loopback
name (127.0.0.1, localhost, [::1]), so a page on another host name (DNS rebinding) cannot read it.
A malformed path (a NUL byte, say) is answered 400. A request head must arrive within
HEAD_TIMEOUT_SECONDS (a silent connection is closed), and a browser that goes away mid-answer is
nothing to print a traceback about.
"""

from __future__ import annotations

import fnmatch
import json
import sys
import threading
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from local.gateway.http_front import HEAD_TIMEOUT_SECONDS
from local.template.specs import ResponseHeaders

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


def _host_name(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class _ClientHandler(SimpleHTTPRequestHandler):
    timeout = HEAD_TIMEOUT_SECONDS  # set per server by StaticSite: each read and write of the socket
    config: bytes = b"{}"
    behaviours: tuple[ResponseHeaders, ...] = ()  # set per server by StaticSite: the first that matches

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in path) or not self.path.startswith("/"):
            self.send_error(HTTPStatus.BAD_REQUEST, "Malformed path")
            return
        if path == "/config.json":
            if _host_name(self.headers.get("Host", "")) not in LOOPBACK_HOSTS:
                self.send_error(HTTPStatus.FORBIDDEN, "config.json answers loopback host names only")
                return
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(self.config)))
            self.end_headers()
            self.wfile.write(self.config)
            return
        super().do_GET()

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        path = unquote(urlsplit(self.path).path)
        # CloudFront matches a behaviour's pattern against the path without its leading slash; its * spans "/".
        behaviour = next((b for b in self.behaviours if fnmatch.fnmatchcase(path.lstrip("/"), b.pattern.lstrip("/"))), None)
        if behaviour is not None:
            for name, value in behaviour.headers.items():
                self.send_header(name, value)
            if "Origin" in self.headers:
                for name, value in behaviour.cors.items():
                    self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (or stayed silent past the timeout) is not an error of ours."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class StaticSite:
    def __init__(
        self,
        root: Path,
        config: dict[str, Any],
        host: str = "127.0.0.1",
        port: int = 8000,
        behaviours: list[ResponseHeaders] | None = None,
        *,
        head_timeout: float = HEAD_TIMEOUT_SECONDS,
    ) -> None:
        attributes = {
            "config": json.dumps(config).encode(),
            "behaviours": tuple(behaviours or ()),
            "timeout": head_timeout,
        }
        handler = type("ClientHandler", (_ClientHandler,), attributes)
        self._server = _QuietServer((host, port), partial(handler, directory=str(root)))
        self.url = f"http://{host}:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, name="web", daemon=True)

    def start(self) -> StaticSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
