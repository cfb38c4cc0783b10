"""A shop's page on an origin of its own, embedding the <order-tracker> element from the local client's
origin, as docs/client.md says: a strict Content-Security-Policy without 'unsafe-inline', its own
script (host.js), and its own backend minting tokens (`/token`) for the element's getToken.

`/?orders=ZX-1001,ZX-1003` embeds one element per order; `&class=themed` gives them that class
(host.css themes it). Each token request takes the next lifetime of `token_lifetimes` (seconds; a
negative one is already expired), then tokens of an hour. Everything each element tells the page is
recorded in `window.recorded` as [order, event type, detail]."""

from __future__ import annotations

import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import jwt

from local.cli.tokens import DEMO_CUSTOMER_ID, local_signing_secret, mint

HOST_JS = """
const params = new URLSearchParams(location.search);
window.recorded = [];
for (const orderId of (params.get("orders") || "ZX-1001").split(",")) {
  const tracker = document.createElement("order-tracker");
  tracker.className = params.get("class") || "";
  tracker.setAttribute("order-id", orderId);
  tracker.getToken = async () => (await fetch("/token")).text();
  for (const type of ["order-tracker-status", "order-tracker-event", "order-tracker-final", "order-tracker-error"]) {
    tracker.addEventListener(type, ({ detail }) =>
      window.recorded.push([orderId, type, detail.status ?? detail.frame?.seq ?? null, detail.code ?? null]));
  }
  document.getElementById("trackers").append(tracker);
  tracker.setAttribute("ws-url", document.body.dataset.ws);
}
"""

HOST_CSS = """
body { font-family: serif; }
order-tracker.themed {
  --order-tracker-card: rgb(1, 2, 3); --order-tracker-fg: rgb(250, 250, 250); --order-tracker-font: monospace;
}
order-tracker.themed::part(entry) { border-radius: 0px; }
"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A shop's order page</title>
<link rel="stylesheet" href="/host.css">
<script type="module" src="{client}order-tracker.js"></script>
<script type="module" src="/host.js"></script>
</head><body data-ws="{ws}"><main><h1>Your order</h1><div id="trackers"></div></main></body></html>
"""


class HostPage:
    def __init__(self, client_url: str, ws_url: str, token_lifetimes: list[int] | None = None) -> None:
        self.client_url = client_url if client_url.endswith("/") else client_url + "/"
        self.ws_url = ws_url.split("?", 1)[0]
        self.token_lifetimes = list(token_lifetimes or [])
        self.token_requests: list[float] = []  # when each token was asked for
        self.secret = local_signing_secret()
        client_origin = "/".join(self.client_url.split("/")[:3])
        ws_origin = "/".join(self.ws_url.split("/")[:3])
        self.csp = f"default-src 'self'; script-src 'self' {client_origin}; connect-src 'self' {ws_origin}"
        handler = type("HostHandler", (_Handler,), {"host": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def next_token(self) -> str:
        self.token_requests.append(time.monotonic())
        lifetime = self.token_lifetimes.pop(0) if self.token_lifetimes else 3600
        if lifetime < 0:  # already expired, past the authorizer's leeway: refused at the handshake
            return _expired(self.secret, -lifetime)
        return mint(DEMO_CUSTOMER_ID, self.secret, lifetime)

    def page(self, **query: str) -> str:
        return self.url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _expired(secret: str, seconds_ago: int) -> str:
    now = int(time.time())
    claims = {"sub": DEMO_CUSTOMER_ID, "iss": "order-tracking", "aud": "order-tracking-client", "exp": now - seconds_ago}
    return jwt.encode(claims, secret, algorithm="HS256")


class _Handler(BaseHTTPRequestHandler):
    host: HostPage

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/":
            body, kind = PAGE.format(client=self.host.client_url, ws=self.host.ws_url).encode(), "text/html"
        elif path == "/host.js":
            body, kind = HOST_JS.encode(), "text/javascript"
        elif path == "/host.css":
            body, kind = HOST_CSS.encode(), "text/css"
        elif path == "/token":
            body, kind = self.host.next_token().encode(), "text/plain"
        elif path == "/favicon.ico":  # the shop's own icon: not what these tests look at
            body, kind = b"", "image/x-icon"
        else:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", self.host.csp)
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass


__all__ = ["HostPage"]
