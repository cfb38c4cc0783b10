"""The static client server against clients that misbehave: a silent connection is closed after the
head timeout, and a browser that goes away mid-answer leaves no traceback on the console."""

from __future__ import annotations

import socket
import struct
import time

from local.gateway.web_server import StaticSite


def test_a_silent_connection_is_closed_after_the_head_timeout(tmp_path):
    (tmp_path / "index.html").write_text("<p>hi</p>")
    site = StaticSite(tmp_path, {}, port=0, head_timeout=0.5).start()
    try:
        port = int(site.url.rsplit(":", 1)[1].strip("/"))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as silent:
            started = time.monotonic()
            assert silent.recv(1024) == b""  # closed by the server, not by our 5 s timeout
            assert time.monotonic() - started < 3
    finally:
        site.stop()


def test_a_browser_that_goes_away_mid_answer_prints_no_traceback(tmp_path, capfd):
    (tmp_path / "big.bin").write_bytes(b"x" * (8 * 1024 * 1024))
    site = StaticSite(tmp_path, {}, port=0).start()
    try:
        port = int(site.url.rsplit(":", 1)[1].strip("/"))
        for _ in range(5):
            browser = socket.create_connection(("127.0.0.1", port), timeout=5)
            browser.sendall(b"GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            browser.recv(1024)
            browser.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, as a tab closed
            browser.close()
        time.sleep(0.5)
    finally:
        site.stop()
    printed = capfd.readouterr()
    assert "Traceback" not in printed.err + printed.out
    assert "BrokenPipe" not in printed.err and "ConnectionReset" not in printed.err
